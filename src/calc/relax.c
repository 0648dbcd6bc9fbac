/* Variable-cell relaxation: positions in the reference frame plus the cell
 * deformation gradient (L = L0 F, r_i = u_i F), minimised with L-BFGS or FIRE.
 * The cell variables are scaled by the atom count (as ASE's UnitCellFilter)
 * so that their curvature is comparable with the atomic ones. */
#include "fuse2/relax.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/clock.h"
#include "fuse2/elements.h"
#include "fuse2/neighbors.h"

void fuse2_relax_options_default(fuse2_relax_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->optimizer = FUSE2_OPTIMIZER_LBFGS;
    opt->fmax = 0.01;
    opt->smax = 1e-4;
    opt->max_steps = 1000;
    opt->max_step = 0.2;
    opt->hard_core_fraction = 0.25;
    opt->lbfgs_memory = 20;
    opt->fire_switch_fmax = 0.5;
}

void fuse2_relax_result_init(fuse2_relax_result *r)
{
    memset(r, 0, sizeof *r);
    fuse2_calc_result_init(&r->final);
}

void fuse2_relax_result_free(fuse2_relax_result *r) { fuse2_calc_result_free(&r->final); }

const char *fuse2_relax_status_name(fuse2_relax_status status)
{
    switch (status) {
    case FUSE2_RELAX_CONVERGED: return "converged";
    case FUSE2_RELAX_MAX_STEPS: return "not_converged";
    case FUSE2_RELAX_FAILED: return "failed";
    case FUSE2_RELAX_TIMED_OUT: return "timed_out";
    case FUSE2_RELAX_INTERRUPTED: return "interrupted";
    }
    return "unknown";
}

const char *fuse2_optimizer_name(fuse2_optimizer opt)
{
    switch (opt) {
    case FUSE2_OPTIMIZER_LBFGS: return "lbfgs";
    case FUSE2_OPTIMIZER_FIRE: return "fire";
    case FUSE2_OPTIMIZER_FIRE_LBFGS: return "fire+lbfgs";
    }
    return "unknown";
}

fuse2_status fuse2_optimizer_parse(const char *text, fuse2_optimizer *out)
{
    if (!strcmp(text, "lbfgs")) *out = FUSE2_OPTIMIZER_LBFGS;
    else if (!strcmp(text, "fire")) *out = FUSE2_OPTIMIZER_FIRE;
    else if (!strcmp(text, "fire+lbfgs")) *out = FUSE2_OPTIMIZER_FIRE_LBFGS;
    else
        return FUSE2_RAISE(FUSE2_ERR_ARG, "unknown optimizer '%s' (lbfgs, fire, fire+lbfgs)", text);
    return FUSE2_OK;
}

/* ---- the objective: H(x) = E + PV and its gradient ---- */

typedef struct objective {
    fuse2_calc *calc;
    const fuse2_relax_options *opt;
    int n, dim, ncell;          /* dim = 3n + ncell */
    double L0[3][3], L0inv[3][3];
    double cell_factor;
    fuse2_structure trial;      /* geometry of the last evaluation */
    fuse2_calc_result res;      /* its energy, forces, stress */
    double hard_core_cutoff;    /* neighbour search radius for the collapse test */
    int evaluations;
    char reason[FUSE2_REASON_LEN];
} objective;

static void deformation(const objective *ob, const double *x, double F[3][3])
{
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            F[a][b] = ob->ncell ? x[3 * ob->n + 3 * a + b] / ob->cell_factor : (a == b);
}

static void build_geometry(objective *ob, const double *x)
{
    double F[3][3];
    deformation(ob, x, F);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double v = 0;
            for (int c = 0; c < 3; c++) v += ob->L0[a][c] * F[c][b];
            ob->trial.lattice[a][b] = v;
        }
    /* fractional coordinates do not depend on F: f = u L0^-1 */
    for (int i = 0; i < ob->n; i++)
        for (int k = 0; k < 3; k++)
            ob->trial.frac[i][k] = x[3 * i] * ob->L0inv[0][k] + x[3 * i + 1] * ob->L0inv[1][k] +
                                   x[3 * i + 2] * ob->L0inv[2][k];
}

/* Closest pair relative to the hard core; returns 0 and sets reason if collapsed. */
static int check_hard_core(objective *ob)
{
    if (ob->opt->hard_core_fraction <= 0) return 1;
    fuse2_neighbor_list nl;
    memset(&nl, 0, sizeof nl);
    if (fuse2_neighbor_list_build(&nl, &ob->trial, ob->hard_core_cutoff) != FUSE2_OK) {
        snprintf(ob->reason, sizeof ob->reason, "neighbour search failed: %s", fuse2_error_message());
        fuse2_neighbor_list_free(&nl);
        return 0;
    }
    int ok = 1;
    for (int i = 0; i < ob->n && ok; i++)
        for (int p = nl.offsets[i]; p < nl.offsets[i + 1]; p++) {
            int j = nl.index[p];
            const fuse2_element *ei = fuse2_element_by_z(ob->trial.species[i]);
            const fuse2_element *ej = fuse2_element_by_z(ob->trial.species[j]);
            double core = ob->opt->hard_core_fraction * (ei->covalent_radius + ej->covalent_radius);
            if (nl.distance[p] < core) {
                snprintf(ob->reason, sizeof ob->reason,
                         "collapse: %s%d and %s%d at %.3f A, inside the hard core %.3f A",
                         ei->symbol, i + 1, ej->symbol, j + 1, nl.distance[p], core);
                ok = 0;
                break;
            }
        }
    fuse2_neighbor_list_free(&nl);
    return ok;
}

/* Evaluates H and gradient at x. Returns 0 (with reason) if the geometry is
 * unusable: calculator failure, non-finite numbers, collapse. */
static int evaluate(objective *ob, const double *x, double *H, double *g)
{
    build_geometry(ob, x);
    ob->evaluations++;
    if (!check_hard_core(ob)) return 0;
    ob->res.skip_components = 1; /* steps need totals only; the end gets a full evaluation */
    if (fuse2_calc_compute(ob->calc, &ob->trial, &ob->res) != FUSE2_OK) {
        snprintf(ob->reason, sizeof ob->reason, "calculator: %s", fuse2_error_message());
        return 0;
    }
    if (ob->res.unphysical[0]) {
        memcpy(ob->reason, ob->res.unphysical, sizeof ob->reason);
        return 0;
    }
    double V = fabs(fuse2_structure_volume(&ob->trial));
    double P = ob->opt->pressure;
    *H = ob->res.energy + P * V;
    if (!isfinite(*H)) {
        snprintf(ob->reason, sizeof ob->reason, "non-finite energy");
        return 0;
    }
    double F[3][3];
    deformation(ob, x, F);
    for (int i = 0; i < ob->n; i++)
        for (int a = 0; a < 3; a++) {
            double v = 0;
            for (int b = 0; b < 3; b++) v -= F[a][b] * ob->res.forces[i][b];
            if (!isfinite(v)) {
                snprintf(ob->reason, sizeof ob->reason, "non-finite force on atom %d", i + 1);
                return 0;
            }
            g[3 * i + a] = v;
        }
    if (ob->ncell) {
        double Finv[3][3];
        if (fuse2_lattice_inverse(F, Finv) != FUSE2_OK) {
            snprintf(ob->reason, sizeof ob->reason, "cell deformation became singular");
            return 0;
        }
        /* dE/dF = V F^-T (sigma + P I) */
        for (int c = 0; c < 3; c++)
            for (int b = 0; b < 3; b++) {
                double v = 0;
                for (int a = 0; a < 3; a++)
                    v += Finv[a][c] * (ob->res.stress[a][b] + (a == b ? P : 0));
                g[3 * ob->n + 3 * c + b] = V * v / ob->cell_factor;
            }
    }
    return 1;
}

double fuse2_max_force(const double (*forces)[3], int n)
{
    double f = 0;
    for (int i = 0; i < n; i++) {
        const double *v = forces[i];
        f = fmax(f, sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]));
    }
    return f;
}

double fuse2_max_stress(const double stress[3][3], double pressure)
{
    double s = 0;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) s = fmax(s, fabs(stress[a][b] + (a == b ? pressure : 0)));
    return s;
}

static void measure(const objective *ob, double *max_force, double *max_stress)
{
    *max_force = fuse2_max_force((const double(*)[3])ob->res.forces, ob->n);
    *max_stress = fuse2_max_stress((const double(*)[3])ob->res.stress, ob->opt->pressure);
}

static int converged(const objective *ob)
{
    double f, s;
    measure(ob, &f, &s);
    return f <= ob->opt->fmax && (ob->opt->fixed_cell || s <= ob->opt->smax);
}

static double dot(const double *a, const double *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* Largest atomic displacement that a step d causes (Å). */
static double step_length(const objective *ob, const double *d)
{
    double m = 0;
    for (int i = 0; i < ob->n; i++)
        m = fmax(m, sqrt(d[3 * i] * d[3 * i] + d[3 * i + 1] * d[3 * i + 1] + d[3 * i + 2] * d[3 * i + 2]));
    if (ob->ncell) {
        double lmax = 0;
        for (int a = 0; a < 3; a++)
            lmax = fmax(lmax, sqrt(ob->L0[a][0] * ob->L0[a][0] + ob->L0[a][1] * ob->L0[a][1] +
                                   ob->L0[a][2] * ob->L0[a][2]));
        for (int k = 0; k < 9; k++) m = fmax(m, fabs(d[3 * ob->n + k]) / ob->cell_factor * lmax);
    }
    return m;
}

typedef struct optimizer_state {
    double *x, *g, *xt, *gt, *d;
    double H;
} optimizer_state;

/* Accepts the trial (xt, gt, Ht) as the current point. */
static void accept_trial(objective *ob, optimizer_state *o, double Ht, fuse2_structure *best,
                         fuse2_calc_result *best_res)
{
    memcpy(o->x, o->xt, (size_t)ob->dim * sizeof *o->x);
    memcpy(o->g, o->gt, (size_t)ob->dim * sizeof *o->g);
    o->H = Ht;
    fuse2_structure_copy(best, &ob->trial);
    fuse2_calc_result tmp = *best_res;
    *best_res = ob->res;
    ob->res = tmp;
}

typedef enum { RUN_CONVERGED, RUN_STEPS, RUN_FAILED, RUN_TIMEOUT, RUN_INTERRUPTED, RUN_SWITCH } run_outcome;

static run_outcome run_fire(objective *ob, optimizer_state *o, fuse2_structure *best,
                            fuse2_calc_result *best_res, int *steps, double switch_fmax,
                            double t_end)
{
    const int dim = ob->dim;
    double *v = calloc((size_t)dim, sizeof *v);
    double dt = 0.1, alpha = 0.1;
    const double dtmax = 1.0, finc = 1.1, fdec = 0.5, astart = 0.1, fa = 0.99;
    int npos = 0;
    run_outcome out = RUN_STEPS;
    fuse2_calc_result trial_res;
    fuse2_calc_result_init(&trial_res);
    while (*steps < ob->opt->max_steps) {
        double fm, sm;
        ob->res = *best_res; /* read-only view of the current point */
        measure(ob, &fm, &sm);
        if (fm <= ob->opt->fmax && (ob->opt->fixed_cell || sm <= ob->opt->smax)) {
            out = RUN_CONVERGED;
            break;
        }
        if (switch_fmax > 0 && fm < switch_fmax && (ob->opt->fixed_cell || sm < 0.01)) {
            out = RUN_SWITCH;
            break;
        }
        if (t_end > 0 && fuse2_monotonic_seconds() > t_end) {
            out = RUN_TIMEOUT;
            break;
        }
        if (ob->opt->interrupt && ob->opt->interrupt(ob->opt->interrupt_user)) {
            out = RUN_INTERRUPTED;
            break;
        }
        double P = -dot(o->g, v, dim);
        if (P > 0) {
            double vn = sqrt(dot(v, v, dim)), fn = sqrt(dot(o->g, o->g, dim));
            for (int k = 0; k < dim; k++) v[k] = (1 - alpha) * v[k] - alpha * vn * o->g[k] / fn;
            if (npos > 5) {
                dt = fmin(dt * finc, dtmax);
                alpha *= fa;
            }
            npos++;
        } else {
            memset(v, 0, (size_t)dim * sizeof *v);
            dt *= fdec;
            alpha = astart;
            npos = 0;
        }
        for (int k = 0; k < dim; k++) {
            v[k] -= dt * o->g[k];
            o->d[k] = dt * v[k];
        }
        double len = step_length(ob, o->d);
        if (len > ob->opt->max_step)
            for (int k = 0; k < dim; k++) o->d[k] *= ob->opt->max_step / len;
        for (int k = 0; k < dim; k++) o->xt[k] = o->x[k] + o->d[k];
        double Ht;
        ob->res = trial_res;
        int ok = evaluate(ob, o->xt, &Ht, o->gt);
        trial_res = ob->res;
        (*steps)++;
        if (!ok) {
            out = RUN_FAILED;
            break;
        }
        accept_trial(ob, o, Ht, best, best_res);
        trial_res = ob->res;
    }
    free(v);
    fuse2_calc_result_free(&trial_res);
    fuse2_calc_result_init(&ob->res);
    return out;
}

static run_outcome run_lbfgs(objective *ob, optimizer_state *o, fuse2_structure *best,
                             fuse2_calc_result *best_res, int *steps, double t_end)
{
    const int dim = ob->dim, m = ob->opt->lbfgs_memory > 0 ? ob->opt->lbfgs_memory : 20;
    double *S = malloc((size_t)m * dim * sizeof *S);
    double *Y = malloc((size_t)m * dim * sizeof *Y);
    double *rho = malloc((size_t)m * sizeof *rho), *al = malloc((size_t)m * sizeof *al);
    int stored = 0, head = 0, resets = 0;
    const double h0_default = 1.0 / 70.0; /* Å^2/eV: ASE's initial curvature guess */
    run_outcome out = RUN_STEPS;
    fuse2_calc_result trial_res;
    fuse2_calc_result_init(&trial_res);
    while (*steps < ob->opt->max_steps) {
        ob->res = *best_res;
        if (converged(ob)) {
            out = RUN_CONVERGED;
            break;
        }
        if (t_end > 0 && fuse2_monotonic_seconds() > t_end) {
            out = RUN_TIMEOUT;
            break;
        }
        if (ob->opt->interrupt && ob->opt->interrupt(ob->opt->interrupt_user)) {
            out = RUN_INTERRUPTED;
            break;
        }
        /* two-loop recursion: d = -H g */
        for (int k = 0; k < dim; k++) o->d[k] = -o->g[k];
        for (int c = 0; c < stored; c++) {
            int idx = (head - 1 - c + m) % m;
            al[idx] = rho[idx] * dot(S + (size_t)idx * dim, o->d, dim);
            for (int k = 0; k < dim; k++) o->d[k] -= al[idx] * Y[(size_t)idx * dim + k];
        }
        double gamma = h0_default;
        if (stored) {
            int last = (head - 1 + m) % m;
            double yy = dot(Y + (size_t)last * dim, Y + (size_t)last * dim, dim);
            gamma = 1.0 / (rho[last] * yy);
        }
        for (int k = 0; k < dim; k++) o->d[k] *= gamma;
        for (int c = stored - 1; c >= 0; c--) {
            int idx = (head - 1 - c + m) % m;
            double be = rho[idx] * dot(Y + (size_t)idx * dim, o->d, dim);
            for (int k = 0; k < dim; k++) o->d[k] += (al[idx] - be) * S[(size_t)idx * dim + k];
        }
        double gd = dot(o->g, o->d, dim);
        if (!(gd < 0)) {
            /* not a descent direction: restart from steepest descent */
            stored = head = 0;
            for (int k = 0; k < dim; k++) o->d[k] = -h0_default * o->g[k];
            gd = dot(o->g, o->d, dim);
        }
        double len = step_length(ob, o->d);
        if (len > ob->opt->max_step) {
            double sc = ob->opt->max_step / len;
            for (int k = 0; k < dim; k++) o->d[k] *= sc;
            gd *= sc;
        }
        /* backtracking line search with the Armijo condition; the slack covers
         * rounding in lattice sums of large energies */
        double step = 1.0, Ht = 0;
        int accepted = 0;
        double slack = 1e-11 * fabs(o->H) + 1e-12;
        for (int ls = 0; ls < 12; ls++) {
            for (int k = 0; k < dim; k++) o->xt[k] = o->x[k] + step * o->d[k];
            ob->res = trial_res;
            int ok = evaluate(ob, o->xt, &Ht, o->gt);
            trial_res = ob->res;
            if (!ok) {
                (*steps)++; /* the step that failed counts, as in FIRE */
                out = RUN_FAILED;
                goto done;
            }
            if (Ht <= o->H + 1e-4 * step * gd + slack) {
                accepted = 1;
                break;
            }
            /* quadratic interpolation of the step, kept within [0.1, 0.5] */
            double denom = 2 * (Ht - o->H - gd * step);
            double next = denom > 0 ? -gd * step * step / denom : 0.5 * step;
            step = fmin(fmax(next, 0.1 * step), 0.5 * step);
        }
        (*steps)++;
        if (!accepted) {
            if (resets++ >= 2) {
                double fm, sm;
                ob->res = *best_res;
                measure(ob, &fm, &sm);
                snprintf(ob->reason, sizeof ob->reason,
                         "line search cannot lower the energy further (max force %.3g eV/A, "
                         "max stress %.3g eV/A^3)", fm, sm);
                out = RUN_STEPS;
                goto done;
            }
            stored = head = 0;
            continue;
        }
        resets = 0;
        double *s_new = S + (size_t)head * dim, *y_new = Y + (size_t)head * dim;
        for (int k = 0; k < dim; k++) {
            s_new[k] = o->xt[k] - o->x[k];
            y_new[k] = o->gt[k] - o->g[k];
        }
        double sy = dot(s_new, y_new, dim);
        ob->res = trial_res;
        accept_trial(ob, o, Ht, best, best_res);
        trial_res = ob->res;
        if (sy > 1e-12 * sqrt(dot(s_new, s_new, dim) * dot(y_new, y_new, dim))) {
            rho[head] = 1.0 / sy;
            head = (head + 1) % m;
            if (stored < m) stored++;
        }
    }
done:
    fuse2_calc_result_free(&trial_res);
    fuse2_calc_result_init(&ob->res);
    free(S);
    free(Y);
    free(rho);
    free(al);
    return out;
}

fuse2_status fuse2_relax(fuse2_calc *calc, fuse2_structure *s, const fuse2_relax_options *opt,
                         fuse2_relax_result *result)
{
    FUSE2_CALL(fuse2_structure_validate(s, "structure"));
    if (calc && calc->ops && calc->ops->relax) {
        /* the calculator relaxes by itself (external codes, synthetic) */
        fuse2_relax_result_free(result);
        fuse2_relax_result_init(result);
        double t_start = fuse2_monotonic_seconds();
        FUSE2_CALL(calc->ops->relax(calc->state, s, opt, result));
        result->wall_seconds = fuse2_monotonic_seconds() - t_start; /* timed here for every calculator */
        return FUSE2_OK;
    }
    if (!(opt->fmax > 0) || !(opt->smax > 0) || opt->max_steps < 0 || !(opt->max_step > 0))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "relaxation: fmax, smax and max_step must be > 0");
    double t0 = fuse2_monotonic_seconds();
    double t_end = opt->time_limit > 0 ? t0 + opt->time_limit : 0;
    const int n = s->natoms;
    objective ob;
    memset(&ob, 0, sizeof ob);
    ob.calc = calc;
    ob.opt = opt;
    ob.n = n;
    ob.ncell = opt->fixed_cell ? 0 : 9;
    ob.dim = 3 * n + ob.ncell;
    ob.cell_factor = n;
    memcpy(ob.L0, s->lattice, sizeof ob.L0);
    FUSE2_CALL(fuse2_lattice_inverse(ob.L0, ob.L0inv));
    double rcov_max = 0;
    for (int i = 0; i < n; i++) rcov_max = fmax(rcov_max, fuse2_element_by_z(s->species[i])->covalent_radius);
    ob.hard_core_cutoff = fmax(2.0 * rcov_max * opt->hard_core_fraction, 0.1);
    fuse2_status st = fuse2_structure_init(&ob.trial, n);
    if (st != FUSE2_OK) return st;
    FUSE2_CALL(fuse2_structure_copy(&ob.trial, s));
    fuse2_calc_result_init(&ob.res);

    optimizer_state o;
    double *mem = calloc((size_t)ob.dim * 5, sizeof *mem);
    if (!mem) {
        fuse2_structure_free(&ob.trial);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate the optimiser");
    }
    o.x = mem;
    o.g = mem + ob.dim;
    o.xt = mem + 2 * ob.dim;
    o.gt = mem + 3 * ob.dim;
    o.d = mem + 4 * ob.dim;
    /* start: u_i = Cartesian positions, F = I */
    for (int i = 0; i < n; i++) {
        double c[3];
        fuse2_structure_cartesian(s, i, c);
        memcpy(o.x + 3 * i, c, sizeof c);
    }
    for (int a = 0; a < 3 && ob.ncell; a++)
        for (int b = 0; b < 3; b++) o.x[3 * n + 3 * a + b] = (a == b) * ob.cell_factor;

    result->steps = 0;
    result->reason[0] = '\0';
    int steps = 0;
    run_outcome out;
    if (!evaluate(&ob, o.x, &o.H, o.g)) {
        out = RUN_FAILED;
    } else {
        fuse2_calc_result_free(&result->final);
        result->final = ob.res;
        fuse2_calc_result_init(&ob.res);
        fuse2_structure_copy(s, &ob.trial);
        if (opt->optimizer == FUSE2_OPTIMIZER_FIRE) {
            out = run_fire(&ob, &o, s, &result->final, &steps, 0, t_end);
        } else if (opt->optimizer == FUSE2_OPTIMIZER_FIRE_LBFGS) {
            out = run_fire(&ob, &o, s, &result->final, &steps, opt->fire_switch_fmax, t_end);
            if (out == RUN_SWITCH) out = run_lbfgs(&ob, &o, s, &result->final, &steps, t_end);
        } else {
            out = run_lbfgs(&ob, &o, s, &result->final, &steps, t_end);
        }
    }
    result->steps = steps;
    result->evaluations = ob.evaluations;
    switch (out) {
    case RUN_CONVERGED: result->status = FUSE2_RELAX_CONVERGED; break;
    case RUN_FAILED: result->status = FUSE2_RELAX_FAILED; break;
    case RUN_TIMEOUT:
        result->status = FUSE2_RELAX_TIMED_OUT;
        snprintf(ob.reason, sizeof ob.reason, "time limit of %g s reached", opt->time_limit);
        break;
    case RUN_INTERRUPTED:
        result->status = FUSE2_RELAX_INTERRUPTED;
        snprintf(ob.reason, sizeof ob.reason, "interrupted");
        break;
    default:
        result->status = FUSE2_RELAX_MAX_STEPS;
        if (!ob.reason[0]) snprintf(ob.reason, sizeof ob.reason, "step limit %d reached", opt->max_steps);
    }
    memcpy(result->reason, ob.reason, sizeof result->reason);
    if (result->status == FUSE2_RELAX_FAILED && result->final.natoms == 0) {
        /* failed on the very first evaluation: nothing to report */
        result->energy = result->energy_per_atom = result->enthalpy = NAN;
    } else {
        result->energy = result->final.energy;
        result->energy_per_atom = result->final.energy_per_atom;
        result->enthalpy = result->final.energy + opt->pressure * fabs(fuse2_structure_volume(s));
        ob.res = result->final;
        measure(&ob, &result->max_force, &result->max_stress);
        fuse2_calc_result_init(&ob.res);
    }
    fuse2_structure_wrap_positions(s);
    if (result->final.natoms) {
        /* one evaluation with the energy breakdown for the structure returned */
        fuse2_calc_result full;
        fuse2_calc_result_init(&full);
        if (fuse2_calc_compute(calc, s, &full) == FUSE2_OK) {
            fuse2_calc_result_free(&result->final);
            result->final = full;
            result->evaluations++;
        } else {
            fuse2_calc_result_free(&full);
            fuse2_error_clear();
        }
    }
    result->wall_seconds = fuse2_monotonic_seconds() - t0;
    fuse2_calc_result_free(&ob.res);
    fuse2_structure_free(&ob.trial);
    free(mem);
    return FUSE2_OK;
}
