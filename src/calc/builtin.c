/* Built-in calculator: pair potentials + Ewald Coulomb + Ewald C6 dispersion
 * with analytic forces and stress; formulas and measurements in
 * docs/builtin-calculator.md (Coulomb: Nose & Klein, Mol. Phys. 50, 1055
 * (1983); C6 with arbitrary C_ij as GULP's `c6`; errors: Kolafa & Perram,
 * Mol. Simul. 9, 351 (1992)).
 *
 * Real space: everything acting between two elements (Ewald real-space
 * Coulomb, short-range terms, Ewald real-space C6) is one function of r,
 * tabulated once per element pair (pair_spline.c), and summed over a Verlet
 * list with a skin that survives small moves of atoms and cell. That needs a
 * fixed Ewald parameter: alpha = sqrt(-ln eps) / r_short, so the Coulomb sum
 * shares the short-range cut-off the loop needs anyway. */
#include "fuse2/builtin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/elements.h"
#include "pair_spline.h"

enum { MAX_SPECIES = 16, NPAIR_SLOTS = (FUSE2_MAX_Z + 1) * (FUSE2_MAX_Z + 1) };

/* Below this distance pairs are evaluated exactly instead of from the table. */
static const double SPLINE_R_MIN = 0.5;
/* Largest interpolation error allowed in a pair table (absolute eV plus
 * relative): far below GULP's printed precision. */
static const double SPLINE_TOLERANCE = 1e-10;
/* Real-space cut-off for models without short-range terms (pure Coulomb). */
static const double DEFAULT_REAL_CUTOFF = 10.0;
/* Verlet skin: the pair list is rebuilt once atoms or cell moved enough to
 * bring an unlisted pair within the cut-off. */
static const double VERLET_SKIN = 1.0;

typedef struct pair_entry {
    pair_model model;
    pair_spline spline;
    double r_collapse; /* closer than this the pair falls into a collapse (Å) */
} pair_entry;

typedef struct verlet_item {
    int i, j;
    const pair_entry *pair; /* the element pair's model and table */
    double df[3];           /* f_j - f_i + n at build time */
} verlet_item;

typedef struct verlet_list {
    int valid, natoms;
    double cutoff;             /* loop cut-off it was built for */
    double lattice[3][3], inverse[3][3];
    double (*frac)[3];         /* coordinates at build */
    int *species;
    int count, capacity;
    verlet_item *item;
} verlet_list;

struct fuse2_builtin {
    fuse2_potential_set pot;
    fuse2_builtin_options opt;
    double alpha, rc, short_cutoff, loop_cut; /* fixed for the calculator */
    pair_entry **pairs;                       /* per (z1 <= z2), built on first use */
    verlet_list verlet;
    fuse2_structure work;
    double (*delta)[3];                       /* unwrapped displacements since the list */
    int delta_capacity;
    int list_builds;                          /* for fuse2_builtin_pair_list_builds */
};

void fuse2_builtin_options_default(fuse2_builtin_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->coulomb_constant = FUSE2_COULOMB_CONSTANT_GULP;
    opt->accuracy = 12.0;
}

static double effective_rmax(const fuse2_potential_set *pot, double rmax)
{
    if (pot->has_cutp && pot->cutp_radius < rmax) return pot->cutp_radius;
    return rmax;
}

fuse2_status fuse2_builtin_create(const fuse2_potential_set *potentials,
                                  const fuse2_builtin_options *options, fuse2_builtin **out)
{
    *out = NULL;
    if (!(options->coulomb_constant > 0) || !isfinite(options->coulomb_constant))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "Coulomb constant must be > 0 (got %g)",
                           options->coulomb_constant);
    if (!(options->accuracy >= 3 && options->accuracy <= 16))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "Ewald accuracy must be between 3 and 16 (got %g)",
                           options->accuracy);
    if (options->ewald_alpha < 0 || !isfinite(options->ewald_alpha))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "Ewald parameter must be >= 0 (got %g)", options->ewald_alpha);
    fuse2_builtin *b = calloc(1, sizeof *b);
    if (!b) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate the built-in calculator");
    b->opt = *options;
    fuse2_potential_set_init(&b->pot);
    fuse2_status st = FUSE2_OK;
    memcpy(b->pot.source, potentials->source, sizeof b->pot.source);
    b->pot.has_cutp = potentials->has_cutp;
    b->pot.cutp_radius = potentials->cutp_radius;
    b->pot.cutp_taper = potentials->cutp_taper;
    for (int i = 0; i < potentials->nspecies; i++)
        FUSE2_CALL_GOTO(st, fuse2_potential_set_add_species(&b->pot, potentials->species[i].z,
                                                            potentials->species[i].charge), fail);
    for (int i = 0; i < potentials->nterms; i++)
        FUSE2_CALL_GOTO(st, fuse2_potential_set_add_term(&b->pot, &potentials->terms[i]), fail);
    FUSE2_CALL_GOTO(st, fuse2_structure_init(&b->work, 0), fail);
    b->pairs = calloc(NPAIR_SLOTS, sizeof *b->pairs);
    if (!b->pairs) FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_NOMEM, "cannot allocate the built-in calculator");

    b->short_cutoff = 0;
    for (int t = 0; t < b->pot.nterms; t++)
        b->short_cutoff = fmax(b->short_cutoff, effective_rmax(&b->pot, b->pot.terms[t].rmax));
    double sqrt_lneps = sqrt(b->opt.accuracy * log(10.0));
    if (b->opt.ewald_alpha > 0) {
        b->alpha = b->opt.ewald_alpha;
        b->rc = sqrt_lneps / b->alpha;
    } else {
        b->rc = b->short_cutoff > 0 ? b->short_cutoff : DEFAULT_REAL_CUTOFF;
        b->alpha = sqrt_lneps / b->rc;
    }
    b->loop_cut = fmax(b->rc, b->short_cutoff);
    *out = b;
    return FUSE2_OK;
fail:
    fuse2_builtin_destroy(b);
    return st;
}

void fuse2_builtin_destroy(fuse2_builtin *b)
{
    if (!b) return;
    if (b->pairs) {
        for (int k = 0; k < NPAIR_SLOTS; k++)
            if (b->pairs[k]) {
                pair_spline_free(&b->pairs[k]->spline);
                free(b->pairs[k]);
            }
        free(b->pairs);
    }
    free(b->verlet.frac);
    free(b->verlet.species);
    free(b->verlet.item);
    free(b->delta);
    fuse2_potential_set_free(&b->pot);
    fuse2_structure_free(&b->work);
    free(b);
}

int fuse2_builtin_pair_list_builds(const fuse2_builtin *b) { return b->list_builds; }

void fuse2_builtin_ewald_parameters(const fuse2_builtin *b, const fuse2_structure *s,
                                    double *alpha, double *real_cutoff, double *recip_cutoff)
{
    (void)s; /* the parameters are fixed for a calculator */
    *alpha = b->alpha;
    *real_cutoff = b->rc;
    *recip_cutoff = 2.0 * b->alpha * sqrt(b->opt.accuracy * log(10.0));
}

/* ---- element pairs ---- */

/* Bare energy of an isolated pair: the short-range part of the model plus
 * k q_i q_j / r and -C/r^6 (unscreened, summed to infinity). */
static double isolated_pair_energy(const pair_model *shortonly, double qq, double c6, double r)
{
    pair_value v;
    pair_model_eval(shortonly, r, r, &v);
    double r2 = r * r;
    return v.e[0] + qq / r - c6 / (r2 * r2 * r2);
}

/* The collapse barrier of a pair: if the pair energy falls without bound as
 * r -> 0 (opposite charges below rmin, Buckingham C/r^6 beating A exp(-r/rho)),
 * the pair collapses once it is closer than the maximum of that energy. If
 * the isolated pair has no maximum (its repulsion never wins), nothing holds
 * the ions apart below the inner cut-off of its terms: that is the barrier.
 * Returns 0 for pairs that repel at short range. */
static double collapse_radius(const pair_model *m)
{
    pair_model shortonly = *m;
    shortonly.qq = 0;
    shortonly.c6 = 0;
    const double h = 1e-3, r_start = 0.05, r_end = 6.0;
    double r = r_start, prev = isolated_pair_energy(&shortonly, m->qq, m->c6, r);
    double next = isolated_pair_energy(&shortonly, m->qq, m->c6, r + h);
    if (!(next > prev)) return 0.0; /* repulsive (or flat) at short range */
    for (r += h; r < r_end; r += h) {
        prev = next;
        next = isolated_pair_energy(&shortonly, m->qq, m->c6, r + h);
        if (next < prev) return r;
    }
    double inner = 0;
    for (int t = 0; t < m->nterms; t++) inner = fmax(inner, m->term[t].rmin);
    return inner;
}

static fuse2_status pair_entry_get(fuse2_builtin *b, int z1, int z2, const pair_entry **out)
{
    if (z1 > z2) {
        int t = z1;
        z1 = z2;
        z2 = t;
    }
    pair_entry **slot = &b->pairs[z1 * (FUSE2_MAX_Z + 1) + z2];
    if (*slot) {
        *out = *slot;
        return FUSE2_OK;
    }
    pair_entry *pe = calloc(1, sizeof *pe);
    if (!pe) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate a pair table");
    pair_model *m = &pe->model;
    int f1 = 0, f2 = 0;
    double q1 = fuse2_potential_set_charge(&b->pot, z1, &f1);
    double q2 = fuse2_potential_set_charge(&b->pot, z2, &f2);
    m->qq = b->opt.no_coulomb ? 0.0 : b->opt.coulomb_constant * q1 * q2;
    m->alpha = b->alpha;
    m->rc = b->rc;
    if (b->pot.has_cutp && b->pot.cutp_taper > 0) {
        m->taper_end = b->pot.cutp_radius;
        m->taper_start = b->pot.cutp_radius - b->pot.cutp_taper;
    }
    for (int t = 0; t < b->pot.nterms; t++) {
        const fuse2_pair_term *pt = &b->pot.terms[t];
        if (!((pt->z1 == z1 && pt->z2 == z2) || (pt->z1 == z2 && pt->z2 == z1))) continue;
        if (m->nterms == PAIR_MODEL_MAX_TERMS) {
            free(pe);
            return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED, "%s:%d: more than %d terms for one pair",
                               b->pot.source, pt->line, PAIR_MODEL_MAX_TERMS);
        }
        pair_model_term *mt = &m->term[m->nterms++];
        mt->kind = pt->kind;
        memcpy(mt->p, pt->param, sizeof mt->p);
        mt->rmin = pt->rmin;
        mt->rmax = effective_rmax(&b->pot, pt->rmax);
        mt->table = pt->table;
        if (b->opt.c6 && pt->kind == FUSE2_PAIR_BUCKINGHAM && pt->param[2] != 0) {
            /* GULP's c6: the C/r^6 part is summed to infinity by Ewald */
            m->c6 += pt->param[2];
            mt->p[2] = 0;
        }
    }
    pe->r_collapse = collapse_radius(m);
    fuse2_status st = pair_spline_build(&pe->spline, m, SPLINE_R_MIN, SPLINE_TOLERANCE);
    if (st != FUSE2_OK) {
        free(pe);
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
        return st;
    }
    *slot = pe;
    *out = pe;
    return FUSE2_OK;
}

/* ---- set-up of one evaluation ---- */

typedef struct eval_setup {
    int n, nspecies;
    int species_z[MAX_SPECIES];
    int *sp;                 /* species index per atom */
    double *q;               /* charge per atom */
    const pair_entry *pair[MAX_SPECIES][MAX_SPECIES];
    double c6[MAX_SPECIES][MAX_SPECIES];
    int any_charge, any_c6;
} eval_setup;

static fuse2_status build_setup(fuse2_builtin *b, const fuse2_structure *s, eval_setup *e)
{
    e->n = s->natoms;
    e->nspecies = 0;
    for (int i = 0; i < s->natoms; i++) {
        int k;
        for (k = 0; k < e->nspecies; k++)
            if (e->species_z[k] == s->species[i]) break;
        if (k == e->nspecies) {
            if (e->nspecies == MAX_SPECIES)
                return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED, "more than %d elements in one structure",
                                   MAX_SPECIES);
            e->species_z[e->nspecies++] = s->species[i];
        }
        e->sp[i] = k;
    }
    double net = 0;
    e->any_charge = 0;
    for (int i = 0; i < s->natoms; i++) {
        int found = 0;
        e->q[i] = fuse2_potential_set_charge(&b->pot, s->species[i], &found);
        if (b->opt.no_coulomb) {
            e->q[i] = 0.0;
            continue;
        }
        if (!found) {
            const fuse2_element *el = fuse2_element_by_z(s->species[i]);
            return FUSE2_RAISE(FUSE2_ERR_ARG, "element %s has no charge in the potential library %s",
                               el ? el->symbol : "?", b->pot.source[0] ? b->pot.source : "(built in)");
        }
        net += e->q[i];
        if (e->q[i] != 0) e->any_charge = 1;
    }
    if (fabs(net) > 1e-6 && !b->opt.allow_charged)
        return FUSE2_RAISE(FUSE2_ERR_ARG,
                           "structure has net charge %+.6g e with library %s; set allow_charged "
                           "to add a neutralising background",
                           net, b->pot.source[0] ? b->pot.source : "(built in)");
    e->any_c6 = 0;
    for (int s1 = 0; s1 < e->nspecies; s1++)
        for (int s2 = 0; s2 < e->nspecies; s2++) {
            FUSE2_CALL(pair_entry_get(b, e->species_z[s1], e->species_z[s2], &e->pair[s1][s2]));
            e->c6[s1][s2] = e->pair[s1][s2]->model.c6;
            if (e->c6[s1][s2] != 0) e->any_c6 = 1;
        }
    return FUSE2_OK;
}

/* ---- real space: Verlet list over tabulated pair functions ---- */

typedef struct sums {
    double e_short, e_coul_real, e_coul_recip, e_disp_real, e_disp_recip, e_self, e_disp_self;
    double virial[3][3];
    double (*f)[3];
    double min_dist;         /* shortest pair distance, for error messages */
    double collapse_depth;   /* largest r_collapse - r found, 0 if none */
    int collapse_i, collapse_j;
    double collapse_r, collapse_barrier;
} sums;

typedef struct translation {
    double v[3];
    double length;
    int n[3];
} translation;

static int compare_translation(const void *a, const void *b)
{
    double la = ((const translation *)a)->length, lb = ((const translation *)b)->length;
    return (la > lb) - (la < lb);
}

/* First non-zero component positive: one of each pair {n, -n}. */
static int is_positive(const int n[3])
{
    for (int k = 0; k < 3; k++)
        if (n[k]) return n[k] > 0;
    return 0;
}

static fuse2_status verlet_reserve(verlet_list *v, int count)
{
    if (count <= v->capacity) return FUSE2_OK;
    int cap = v->capacity ? v->capacity : 1024;
    while (cap < count) cap *= 2;
    verlet_item *it = realloc(v->item, (size_t)cap * sizeof *it);
    if (!it) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate the pair list");
    v->item = it;
    v->capacity = cap;
    return FUSE2_OK;
}

/* Every pair i <= j and lattice translation with |r_j + T - r_i| within
 * cutoff + skin (an atom and its own images: one of T and -T, weight 1). */
static fuse2_status verlet_build(fuse2_builtin *b, const fuse2_structure *s, const eval_setup *e)
{
    verlet_list *v = &b->verlet;
    const int n = s->natoms;
    const double reach_pair = b->loop_cut + VERLET_SKIN;
    const double (*L)[3] = (const double(*)[3])s->lattice;
    v->valid = 0;
    double dmax = 0;
    for (int sa = -1; sa <= 1; sa += 2)
        for (int sb = -1; sb <= 1; sb += 2)
            for (int sc = -1; sc <= 1; sc += 2) {
                double c[3];
                for (int k = 0; k < 3; k++) c[k] = 0.5 * (sa * L[0][k] + sb * L[1][k] + sc * L[2][k]);
                dmax = fmax(dmax, sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2]));
            }
    double h[3];
    fuse2_lattice_plane_spacings(s->lattice, h);
    int nmax[3];
    for (int k = 0; k < 3; k++) nmax[k] = (int)ceil((reach_pair + dmax) / h[k]);
    size_t cap = (size_t)(2 * nmax[0] + 1) * (2 * nmax[1] + 1) * (2 * nmax[2] + 1);
    translation *T = malloc(cap * sizeof *T);
    if (!T) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate lattice translations");
    int nt = 0;
    const double reach = reach_pair + dmax;
    for (int a = -nmax[0]; a <= nmax[0]; a++)
        for (int c = -nmax[1]; c <= nmax[1]; c++)
            for (int d = -nmax[2]; d <= nmax[2]; d++) {
                translation t = {.n = {a, c, d}};
                for (int k = 0; k < 3; k++) t.v[k] = a * L[0][k] + c * L[1][k] + d * L[2][k];
                t.length = sqrt(t.v[0] * t.v[0] + t.v[1] * t.v[1] + t.v[2] * t.v[2]);
                if (t.length <= reach) T[nt++] = t;
            }
    qsort(T, (size_t)nt, sizeof *T, compare_translation);

    v->count = 0;
    const double reach2 = reach_pair * reach_pair;
    fuse2_status st = FUSE2_OK;
    for (int i = 0; i < n && st == FUSE2_OK; i++)
        for (int j = i; j < n; j++) {
            double df[3], d0[3];
            for (int k = 0; k < 3; k++) {
                df[k] = s->frac[j][k] - s->frac[i][k];
                df[k] -= floor(df[k] + 0.5);
            }
            for (int k = 0; k < 3; k++) d0[k] = df[0] * L[0][k] + df[1] * L[1][k] + df[2] * L[2][k];
            double tmax = reach_pair + sqrt(d0[0] * d0[0] + d0[1] * d0[1] + d0[2] * d0[2]);
            for (int t = 0; t < nt && T[t].length <= tmax; t++) {
                if (i == j && !is_positive(T[t].n)) continue;
                double d[3] = {d0[0] + T[t].v[0], d0[1] + T[t].v[1], d0[2] + T[t].v[2]};
                if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] > reach2) continue;
                if ((st = verlet_reserve(v, v->count + 1)) != FUSE2_OK) break;
                verlet_item *it = &v->item[v->count++];
                it->i = i;
                it->j = j;
                it->pair = e->pair[e->sp[i]][e->sp[j]];
                for (int k = 0; k < 3; k++) it->df[k] = df[k] + T[t].n[k];
            }
            if (st != FUSE2_OK) break;
        }
    free(T);
    if (st != FUSE2_OK) return st;
    double(*frac)[3] = realloc(v->frac, (size_t)n * sizeof *frac);
    int *species = realloc(v->species, (size_t)n * sizeof *species);
    if (frac) v->frac = frac;
    if (species) v->species = species;
    if (!frac || !species) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate the pair list");
    memcpy(v->frac, s->frac, (size_t)n * sizeof *frac);
    memcpy(v->species, s->species, (size_t)n * sizeof *species);
    memcpy(v->lattice, s->lattice, sizeof v->lattice);
    FUSE2_CALL(fuse2_lattice_inverse(s->lattice, v->inverse));
    v->natoms = n;
    v->cutoff = b->loop_cut;
    v->valid = 1;
    b->list_builds++;
    return FUSE2_OK;
}

/* Whether the list still holds every pair within the cut-off: an unlisted
 * pair was farther than cutoff + skin, and can have come closer by at most
 * twice the largest atom displacement plus its length times the cell
 * deformation. Fills b->delta with the displacements (fractional). */
static int verlet_still_valid(fuse2_builtin *b, const fuse2_structure *s)
{
    const verlet_list *v = &b->verlet;
    if (!v->valid || v->natoms != s->natoms || v->cutoff != b->loop_cut) return 0;
    if (memcmp(v->species, s->species, (size_t)s->natoms * sizeof *s->species)) return 0;
    double strain2 = 0;
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < 3; c++) {
            double m = -(a == c);
            for (int k = 0; k < 3; k++) m += v->inverse[a][k] * s->lattice[k][c];
            strain2 += m * m;
        }
    double maxdisp = 0;
    for (int i = 0; i < s->natoms; i++) {
        double c[3] = {0, 0, 0};
        for (int k = 0; k < 3; k++) {
            double d = s->frac[i][k] - v->frac[i][k];
            d -= nearbyint(d); /* the work cell wraps atoms back into [0, 1) */
            if (fabs(d) > 0.25) return 0;
            b->delta[i][k] = d;
        }
        for (int k = 0; k < 3; k++)
            c[k] = b->delta[i][0] * s->lattice[0][k] + b->delta[i][1] * s->lattice[1][k] +
                   b->delta[i][2] * s->lattice[2][k];
        maxdisp = fmax(maxdisp, sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2]));
    }
    return 2 * maxdisp + (v->cutoff + VERLET_SKIN) * sqrt(strain2) < VERLET_SKIN;
}

static fuse2_status real_space(fuse2_builtin *b, const fuse2_structure *s, const eval_setup *e,
                               int with_parts, sums *out)
{
    const int n = s->natoms;
    if (b->delta_capacity < n) {
        double(*d)[3] = realloc(b->delta, (size_t)n * sizeof *d);
        if (!d) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d atoms", n);
        b->delta = d;
        b->delta_capacity = n;
    }
    if (!verlet_still_valid(b, s)) {
        FUSE2_CALL(verlet_build(b, s, e));
        memset(b->delta, 0, (size_t)n * sizeof *b->delta);
    }
    const verlet_list *v = &b->verlet;
    /* locals: the compiler cannot keep values reached through pointers in
     * registers while the loop stores forces */
    const double L00 = s->lattice[0][0], L01 = s->lattice[0][1], L02 = s->lattice[0][2];
    const double L10 = s->lattice[1][0], L11 = s->lattice[1][1], L12 = s->lattice[1][2];
    const double L20 = s->lattice[2][0], L21 = s->lattice[2][1], L22 = s->lattice[2][2];
    const double cut2 = b->loop_cut * b->loop_cut;
    const double (*delta)[3] = (const double(*)[3])b->delta;
    double(*f)[3] = out->f;
    double e_tot = 0, e_coul = 0, e_disp = 0;
    double vxx = 0, vyy = 0, vzz = 0, vyz = 0, vxz = 0, vxy = 0;
    double min_r2 = INFINITY;
    /* Chunks: the pairs within the cut-off are first compacted without
     * branches, then their square roots and table lookups run as independent
     * iterations that the processor overlaps, then everything is summed. */
    enum { CHUNK = 256 };
    int keep[CHUNK];
    double dx[CHUNK], dy[CHUNK], dz[CHUNK], rr[CHUNK], EE[CHUNK], GG[CHUNK], EC[CHUNK], ED[CHUNK];
    for (int p0 = 0; p0 < v->count; p0 += CHUNK) {
        const int p1 = p0 + CHUNK < v->count ? p0 + CHUNK : v->count;
        int m = 0;
        for (int p = p0; p < p1; p++) {
            const verlet_item *it = &v->item[p];
            const int i = it->i, j = it->j;
            const double x0 = it->df[0] + delta[j][0] - delta[i][0];
            const double x1 = it->df[1] + delta[j][1] - delta[i][1];
            const double x2 = it->df[2] + delta[j][2] - delta[i][2];
            const double d0 = x0 * L00 + x1 * L10 + x2 * L20;
            const double d1 = x0 * L01 + x1 * L11 + x2 * L21;
            const double d2 = x0 * L02 + x1 * L12 + x2 * L22;
            const double r2 = d0 * d0 + d1 * d1 + d2 * d2;
            dx[m] = d0;
            dy[m] = d1;
            dz[m] = d2;
            rr[m] = r2;
            keep[m] = p;
            m += r2 <= cut2;
        }
        for (int k = 0; k < m; k++) rr[k] = sqrt(rr[k]);
        for (int k = 0; k < m; k++) {
            const pair_entry *pe = v->item[keep[k]].pair;
            const double r = rr[k];
            if (r >= SPLINE_R_MIN) {
                if (with_parts) {
                    pair_spline_eval_parts(&pe->spline, r, &EE[k], &GG[k], &EC[k], &ED[k]);
                } else {
                    pair_spline_eval(&pe->spline, r, &EE[k], &GG[k]);
                    EC[k] = ED[k] = 0;
                }
            } else {
                pair_value pv;
                pair_model_eval(&pe->model, r, r, &pv);
                EE[k] = pv.e[0];
                GG[k] = pv.e[1] / r;
                EC[k] = pv.coul[0];
                ED[k] = pv.disp[0];
            }
        }
        for (int k = 0; k < m; k++) {
            const verlet_item *it = &v->item[keep[k]];
            const int i = it->i, j = it->j;
            const double r = rr[k], G = GG[k], d0 = dx[k], d1 = dy[k], d2 = dz[k];
            if (r < it->pair->r_collapse && it->pair->r_collapse - r > out->collapse_depth) {
                out->collapse_depth = it->pair->r_collapse - r;
                out->collapse_i = i;
                out->collapse_j = j;
                out->collapse_r = r;
                out->collapse_barrier = it->pair->r_collapse;
            }
            min_r2 = fmin(min_r2, r * r);
            e_tot += EE[k];
            e_coul += EC[k];
            e_disp += ED[k];
            vxx += G * d0 * d0;
            vyy += G * d1 * d1;
            vzz += G * d2 * d2;
            vyz += G * d1 * d2;
            vxz += G * d0 * d2;
            vxy += G * d0 * d1;
            if (i != j) {
                /* F_i = (dE/dr) d/r with d = r_j - r_i; self images pull both ways */
                const double fx = G * d0, fy = G * d1, fz = G * d2;
                f[i][0] += fx;
                f[i][1] += fy;
                f[i][2] += fz;
                f[j][0] -= fx;
                f[j][1] -= fy;
                f[j][2] -= fz;
            }
        }
    }
    out->e_short += e_tot - e_coul - e_disp;
    out->e_coul_real += e_coul;
    out->e_disp_real += e_disp;
    out->virial[0][0] += vxx;
    out->virial[1][1] += vyy;
    out->virial[2][2] += vzz;
    out->virial[1][2] += vyz;
    out->virial[2][1] += vyz;
    out->virial[0][2] += vxz;
    out->virial[2][0] += vxz;
    out->virial[0][1] += vxy;
    out->virial[1][0] += vxy;
    out->min_dist = sqrt(min_r2);
    return FUSE2_OK;
}

/* F(b) and F'(b) of the dispersion reciprocal sum. */
static void disp_kernel(double b, double *F, double *dF)
{
    double eb = exp(-b * b), erfcb = erfc(b), spi = sqrt(M_PI);
    *F = spi * b * b * b * erfcb + (0.5 - b * b) * eb;
    *dF = 3.0 * b * (spi * b * erfcb - eb);
}

__attribute__((noinline)) static fuse2_status reciprocal_space(const fuse2_structure *s,
                                                               const eval_setup *e, double alpha,
                                                               double kc, double ke, int c6,
                                                               sums *out)
{
    const int n = s->natoms, ns = e->nspecies;
    const double V = fabs(fuse2_structure_volume(s));
    double B[3][3];
    fuse2_lattice_reciprocal(s->lattice, B);
    int mmax[3];
    for (int k = 0; k < 3; k++) {
        double len = sqrt(s->lattice[k][0] * s->lattice[k][0] + s->lattice[k][1] * s->lattice[k][1] +
                          s->lattice[k][2] * s->lattice[k][2]);
        mmax[k] = (int)floor(kc * len / (2 * M_PI));
    }
    /* Phase tables e^{2 pi i m f_i} for m = -mmax..mmax, laid out [m][atom]
     * so that the loops over atoms run over contiguous memory. */
    size_t width[3], total = 0;
    for (int k = 0; k < 3; k++) {
        width[k] = (size_t)(2 * mmax[k] + 1);
        total += 2 * width[k] * (size_t)n;
    }
    total += (size_t)n * 10 + (size_t)ns * 4;
    double *buf = malloc(total * sizeof *buf);
    if (!buf) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate Ewald tables");
    double *re[3], *im[3], *p = buf;
    for (int k = 0; k < 3; k++) {
        re[k] = p;
        p += width[k] * n;
        im[k] = p;
        p += width[k] * n;
        for (int m = -mmax[k]; m <= mmax[k]; m++) {
            double *rr = re[k] + (size_t)(m + mmax[k]) * n, *ii = im[k] + (size_t)(m + mmax[k]) * n;
            for (int i = 0; i < n; i++) {
                double arg = 2 * M_PI * (double)m * s->frac[i][k];
                rr[i] = cos(arg);
                ii[i] = sin(arg);
            }
        }
    }
    double *c12r = p; p += n;  /* phase of (m1, m2) per atom */
    double *c12i = p; p += n;
    double *cr = p; p += n;    /* phase of the whole k per atom */
    double *ci = p; p += n;
    double *qv = p; p += n;
    double *fx = p; p += n;    /* reciprocal forces, accumulated locally */
    double *fy = p; p += n;
    double *fz = p; p += n;
    double *fdisp = p; p += 2 * n; /* unused slack keeps the layout simple */
    (void)fdisp;
    double *Ssr = p; p += ns;  /* per-species structure factors */
    double *Ssi = p; p += ns;
    double *Usr = p; p += ns;  /* U_s = sum_t C_st S_t */
    double *Usi = p; p += ns;
    for (int i = 0; i < n; i++) {
        qv[i] = e->q[i];
        fx[i] = fy[i] = fz[i] = 0;
    }

    const double kc2 = kc * kc, inv4a2 = 1.0 / (4 * alpha * alpha);
    const double coul_pref = ke * 2 * M_PI / V;
    const double disp_pref = -pow(M_PI, 1.5) * alpha * alpha * alpha / (3 * V);
    double Cst[MAX_SPECIES][MAX_SPECIES];
    int nsp_count[MAX_SPECIES] = {0};
    for (int a = 0; a < ns; a++)
        for (int b = 0; b < ns; b++) Cst[a][b] = e->c6[a][b];
    for (int i = 0; i < n; i++) nsp_count[e->sp[i]]++;
    const double b3b3 = B[2][0] * B[2][0] + B[2][1] * B[2][1] + B[2][2] * B[2][2];
    double vir[6] = {0, 0, 0, 0, 0, 0};
    double e_coul = 0, e_disp = 0;

    /* half space: m1 > 0, or m1 = 0 and m2 > 0, or m1 = m2 = 0 and m3 > 0;
     * the factor 2 for -k is applied to every term */
    for (int m1 = 0; m1 <= mmax[0]; m1++) {
        for (int m2 = (m1 == 0 ? 0 : -mmax[1]); m2 <= mmax[1]; m2++) {
            double k12[3];
            for (int k = 0; k < 3; k++) k12[k] = m1 * B[0][k] + m2 * B[1][k];
            /* the m3 values with |k12 + m3 b3| <= kc */
            double t0 = -(k12[0] * B[2][0] + k12[1] * B[2][1] + k12[2] * B[2][2]) / b3b3;
            double dist2 = 0;
            for (int k = 0; k < 3; k++) {
                double c = k12[k] + t0 * B[2][k];
                dist2 += c * c;
            }
            if (dist2 > kc2) continue;
            double half = sqrt((kc2 - dist2) / b3b3);
            int lo = (int)ceil(t0 - half), hi = (int)floor(t0 + half);
            if (lo < -mmax[2]) lo = -mmax[2];
            if (hi > mmax[2]) hi = mmax[2];
            if (m1 == 0 && m2 == 0 && lo < 1) lo = 1;
            if (lo > hi) continue;
            const double *ar = re[0] + (size_t)(m1 + mmax[0]) * n, *ai = im[0] + (size_t)(m1 + mmax[0]) * n;
            const double *br = re[1] + (size_t)(m2 + mmax[1]) * n, *bi = im[1] + (size_t)(m2 + mmax[1]) * n;
            for (int i = 0; i < n; i++) {
                c12r[i] = ar[i] * br[i] - ai[i] * bi[i];
                c12i[i] = ar[i] * bi[i] + ai[i] * br[i];
            }
            for (int m3 = lo; m3 <= hi; m3++) {
                double kv[3];
                for (int k = 0; k < 3; k++) kv[k] = k12[k] + m3 * B[2][k];
                double k2 = kv[0] * kv[0] + kv[1] * kv[1] + kv[2] * kv[2];
                if (k2 > kc2 || k2 == 0) continue;
                const double *zr = re[2] + (size_t)(m3 + mmax[2]) * n, *zi = im[2] + (size_t)(m3 + mmax[2]) * n;
                double Sr = 0, Si = 0;
#pragma omp simd reduction(+ : Sr, Si)
                for (int i = 0; i < n; i++) {
                    double r = c12r[i] * zr[i] - c12i[i] * zi[i];
                    double m = c12r[i] * zi[i] + c12i[i] * zr[i];
                    cr[i] = r;
                    ci[i] = m;
                    Sr += qv[i] * r;
                    Si += qv[i] * m;
                }
                double A = exp(-k2 * inv4a2) / k2;
                double ek = 2 * coul_pref * A * (Sr * Sr + Si * Si);
                e_coul += ek;
                double sfac = 2 * (1.0 / k2 + inv4a2);
                /* dE_k/d eps_ab = -E_k [delta_ab - 2 k_a k_b (1/k^2 + 1/4 alpha^2)] */
                vir[0] += ek * (sfac * kv[0] * kv[0] - 1);
                vir[1] += ek * (sfac * kv[1] * kv[1] - 1);
                vir[2] += ek * (sfac * kv[2] * kv[2] - 1);
                vir[3] += ek * sfac * kv[1] * kv[2];
                vir[4] += ek * sfac * kv[0] * kv[2];
                vir[5] += ek * sfac * kv[0] * kv[1];
                /* F_i = 4 coul_pref A q_i Im[e_i S*] k, Im[e_i S*] = ci Sr - cr Si */
                double fk = 4 * coul_pref * A;
                double gx = fk * kv[0], gy = fk * kv[1], gz = fk * kv[2];
#pragma omp simd
                for (int i = 0; i < n; i++) {
                    double g = qv[i] * (ci[i] * Sr - cr[i] * Si);
                    fx[i] += g * gx;
                    fy[i] += g * gy;
                    fz[i] += g * gz;
                }
                if (c6) {
                    for (int a = 0; a < ns; a++) Ssr[a] = Ssi[a] = 0;
                    for (int i = 0; i < n; i++) {
                        Ssr[e->sp[i]] += cr[i];
                        Ssi[e->sp[i]] += ci[i];
                    }
                    double kk = sqrt(k2), bb = kk / (2 * alpha), F, dF;
                    disp_kernel(bb, &F, &dF);
                    double P = 0;
                    for (int a = 0; a < ns; a++) {
                        Usr[a] = Usi[a] = 0;
                        for (int b = 0; b < ns; b++) {
                            Usr[a] += Cst[a][b] * Ssr[b];
                            Usi[a] += Cst[a][b] * Ssi[b];
                        }
                        P += Ssr[a] * Usr[a] + Ssi[a] * Usi[a];
                    }
                    double edk = 2 * disp_pref * F * P;
                    e_disp += edk;
                    /* dE_k/d eps_ab = -delta_ab E_k - P_k F'(b) k_a k_b / (2 alpha k) */
                    double dpk = 2 * disp_pref * P * dF / (2 * alpha * kk);
                    vir[0] -= edk + dpk * kv[0] * kv[0];
                    vir[1] -= edk + dpk * kv[1] * kv[1];
                    vir[2] -= edk + dpk * kv[2] * kv[2];
                    vir[3] -= dpk * kv[1] * kv[2];
                    vir[4] -= dpk * kv[0] * kv[2];
                    vir[5] -= dpk * kv[0] * kv[1];
                    double fd = 4 * disp_pref * F;
                    double hx = fd * kv[0], hy = fd * kv[1], hz = fd * kv[2];
                    for (int i = 0; i < n; i++) {
                        int si = e->sp[i];
                        /* Im[e_i U*] = ci Ur - cr Ui */
                        double g = ci[i] * Usr[si] - cr[i] * Usi[si];
                        fx[i] += g * hx;
                        fy[i] += g * hy;
                        fz[i] += g * hz;
                    }
                }
            }
        }
    }
    if (c6) {
        /* k = 0 term, F(0) = 1/2, and the self term */
        double P0 = 0, self = 0;
        for (int a = 0; a < ns; a++) {
            for (int b = 0; b < ns; b++) P0 += Cst[a][b] * nsp_count[a] * nsp_count[b];
            self += Cst[a][a] * nsp_count[a];
        }
        double e0 = disp_pref * 0.5 * P0;
        e_disp += e0;
        for (int a = 0; a < 3; a++) vir[a] -= e0;
        out->e_disp_self = pow(alpha, 6) / 12.0 * self;
    }
    out->e_coul_recip += e_coul;
    out->e_disp_recip += e_disp;
    const int va[6] = {0, 1, 2, 1, 0, 0}, vb[6] = {0, 1, 2, 2, 2, 1};
    for (int k = 0; k < 6; k++) {
        out->virial[va[k]][vb[k]] += vir[k];
        if (va[k] != vb[k]) out->virial[vb[k]][va[k]] += vir[k];
    }
    for (int i = 0; i < n; i++) {
        out->f[i][0] += fx[i];
        out->f[i][1] += fy[i];
        out->f[i][2] += fz[i];
    }
    free(buf);
    return FUSE2_OK;
}

fuse2_status fuse2_builtin_compute(fuse2_builtin *b, const fuse2_structure *input,
                                   fuse2_calc_result *result)
{
    FUSE2_CALL(fuse2_structure_validate(input, "structure"));
    const int n = input->natoms;
    /* work on a Niggli-reduced copy: fewer images, same crystal; forces are
     * per atom in the same order and stress is cell-independent */
    FUSE2_CALL(fuse2_structure_copy(&b->work, input));
    FUSE2_CALL(fuse2_structure_reduce_cell(&b->work));
    const fuse2_structure *s = &b->work;

    eval_setup e;
    int *sp = malloc((size_t)n * sizeof *sp);
    double *q = malloc((size_t)n * sizeof *q);
    if (!sp || !q) {
        free(sp);
        free(q);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d atoms", n);
    }
    e.sp = sp;
    e.q = q;
    sums sm;
    memset(&sm, 0, sizeof sm);
    fuse2_status st = build_setup(b, s, &e);
    if (st == FUSE2_OK) st = fuse2_calc_result_reset(result, n);
    if (st != FUSE2_OK) goto done;
    const double V = fabs(fuse2_structure_volume(s));
    const double ke = b->opt.coulomb_constant;
    const double alpha = b->alpha, kc = 2.0 * alpha * sqrt(b->opt.accuracy * log(10.0));
    const int c6 = b->opt.c6 && e.any_c6;

    sm.f = result->forces;
    sm.min_dist = INFINITY;
    const int with_parts = !result->skip_components;
    st = real_space(b, s, &e, with_parts, &sm);
    if (st != FUSE2_OK) goto done;
    if (e.any_charge || c6) {
        st = reciprocal_space(s, &e, alpha, kc, ke, c6, &sm);
        if (st != FUSE2_OK) goto done;
    }
    if (e.any_charge) {
        double q2 = 0, qsum = 0;
        for (int i = 0; i < n; i++) {
            q2 += e.q[i] * e.q[i];
            qsum += e.q[i];
        }
        sm.e_self = -ke * alpha / sqrt(M_PI) * q2;
        if (fabs(qsum) > 1e-12) {
            /* neutralising background for charged cells */
            double eb = -ke * M_PI * qsum * qsum / (2 * V * alpha * alpha);
            sm.e_self += eb;
            for (int a = 0; a < 3; a++) sm.virial[a][a] -= eb;
        }
    }

    double coul_real = sm.e_coul_real + sm.e_self;
    double coul = coul_real + sm.e_coul_recip;
    double disp = sm.e_disp_real + sm.e_disp_recip + sm.e_disp_self;
    result->energy = sm.e_short + coul + disp;
    result->energy_per_atom = result->energy / n;
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < 3; c++) result->stress[a][c] = sm.virial[a][c] / V;
    if (with_parts) {
        fuse2_calc_result_add_component(result, "short_range", sm.e_short);
        fuse2_calc_result_add_component(result, "coulomb_real", coul_real);
        fuse2_calc_result_add_component(result, "coulomb_recip", sm.e_coul_recip);
        fuse2_calc_result_add_component(result, "coulomb", coul);
        if (b->opt.c6) fuse2_calc_result_add_component(result, "dispersion", disp);
    }
    if (sm.collapse_depth > 0) {
        const fuse2_element *ei = fuse2_element_by_z(s->species[sm.collapse_i]);
        const fuse2_element *ej = fuse2_element_by_z(s->species[sm.collapse_j]);
        snprintf(result->unphysical, sizeof result->unphysical,
                 "collapse: %s%d and %s%d at %.3f A, inside the %s-%s barrier at %.3f A of %.120s",
                 ei->symbol, sm.collapse_i + 1, ej->symbol, sm.collapse_j + 1, sm.collapse_r,
                 ei->symbol, ej->symbol, sm.collapse_barrier,
                 b->pot.source[0] ? b->pot.source : "the potential");
    }
    if (!isfinite(result->energy))
        st = FUSE2_RAISE(FUSE2_ERR_NUMERIC, "non-finite energy (shortest distance %.4g A)",
                         sm.min_dist);
done:
    free(sp);
    free(q);
    if (st != FUSE2_OK) fuse2_error_push_frame(__FILE__, __LINE__, __func__);
    return st;
}
