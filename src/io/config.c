/* Campaign configuration: YAML (libyaml document API) -> fuse2_config.
 * Keys, defaults and meanings: docs/campaign-config.md. Every problem found
 * is collected as "file:line: message"; all are reported together. */
#include "fuse2/config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "fuse2/elements.h"
#include "fuse2/search.h"

/* 1 GPa in eV/Å^3 (1e9 Pa * 1e-30 m^3 / 1.602176634e-19 J). */
#define GPA_TO_EV_PER_A3 (1e-21 / 1.602176634e-19)

enum { MAX_ERRORS = 30 };

typedef struct ctx {
    const char *file;
    char *dir;                 /* absolute directory of the YAML file */
    fuse2_config *cfg;
    char *errors;              /* joined messages */
    size_t errlen, errcap;
    int nerrors;
    fuse2_setting *items;      /* calculator settings being built */
    int nitems, items_capacity;
} ctx;

static void add_error(ctx *c, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add_error(ctx *c, int line, const char *fmt, ...)
{
    c->nerrors++;
    if (c->nerrors > MAX_ERRORS) return;
    char msg[1024];
    int n = snprintf(msg, sizeof msg, "%s%s:%d: ", c->errlen ? "\n" : "", c->file, line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = strlen(msg);
    if (c->errlen + len + 1 > c->errcap) {
        size_t cap = c->errcap ? 2 * c->errcap : 2048;
        while (cap < c->errlen + len + 1) cap *= 2;
        char *p = realloc(c->errors, cap);
        if (!p) return;
        c->errors = p;
        c->errcap = cap;
    }
    memcpy(c->errors + c->errlen, msg, len + 1);
    c->errlen += len;
}

static int line_of(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

static const char *scalar_text(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static const char *node_kind_name(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE ? "a mapping" : n->type == YAML_SEQUENCE_NODE ? "a list" : "nothing";
}

/* ---- scalar conversions: 1 on success, else an error was recorded ---- */

static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *t = scalar_text(n);
    return !*t || !strcmp(t, "~") || !strcasecmp(t, "null") || !strcmp(t, "None");
}

static int want_scalar(ctx *c, const char *name, const yaml_node_t *n, const char *what)
{
    if (n->type == YAML_SCALAR_NODE) return 1;
    add_error(c, line_of(n), "'%s' must be %s, got %s", name, what, node_kind_name(n));
    return 0;
}

static int get_double(ctx *c, const char *name, const yaml_node_t *n, double *out)
{
    if (!want_scalar(c, name, n, "a number")) return 0;
    const char *t = scalar_text(n);
    char *end;
    errno = 0;
    double v = strtod(t, &end);
    if (end == t || *end || errno || !isfinite(v)) {
        add_error(c, line_of(n), "'%s' must be a number, got '%s'", name, t);
        return 0;
    }
    *out = v;
    return 1;
}

static int get_int(ctx *c, const char *name, const yaml_node_t *n, int *out)
{
    if (!want_scalar(c, name, n, "an integer")) return 0;
    const char *t = scalar_text(n);
    char *end;
    errno = 0;
    long v = strtol(t, &end, 10);
    if (end == t || *end || errno || v < INT_MIN || v > INT_MAX) {
        add_error(c, line_of(n), "'%s' must be an integer, got '%s'", name, t);
        return 0;
    }
    *out = (int)v;
    return 1;
}

static int get_bool(ctx *c, const char *name, const yaml_node_t *n, int *out)
{
    if (!want_scalar(c, name, n, "true or false")) return 0;
    const char *t = scalar_text(n);
    if (!strcasecmp(t, "true") || !strcasecmp(t, "yes") || !strcasecmp(t, "on")) *out = 1;
    else if (!strcasecmp(t, "false") || !strcasecmp(t, "no") || !strcasecmp(t, "off")) *out = 0;
    else {
        add_error(c, line_of(n), "'%s' must be true or false, got '%s'", name, t);
        return 0;
    }
    return 1;
}

static int get_string(ctx *c, const char *name, const yaml_node_t *n, const char **out)
{
    if (!want_scalar(c, name, n, "a string")) return 0;
    *out = is_null(n) ? "" : scalar_text(n);
    return 1;
}

/* Relative paths are taken relative to the YAML file's directory. */
static char *resolve_path(const ctx *c, const char *p)
{
    if (!*p || p[0] == '/') return dup_string(p);
    size_t n = strlen(c->dir) + strlen(p) + 2;
    char *r = malloc(n);
    if (r) snprintf(r, n, "%s/%s", c->dir, p);
    return r;
}

static int replace_string(char **slot, char *value)
{
    if (!value) return 0;
    free(*slot);
    *slot = value;
    return 1;
}

/* ---- key tables ---- */

typedef enum { K_INT, K_DOUBLE, K_BOOL, K_STRING, K_PATH, K_SPECIAL } key_kind;
typedef enum { NO_LIMIT = 0, GE, GT } bound_op; /* lower: >= / >; upper: <= / < */

typedef struct key_spec {
    const char *name;
    key_kind kind;
    size_t offset;
    bound_op lo_op;
    double lo;
    bound_op hi_op;
    double hi;
} key_spec;

#define CFG(field) offsetof(fuse2_config, field)
#define RLX(field) offsetof(fuse2_relax_options, field)

static const key_spec top_keys[] = {
    {"composition", K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
    {"max_atoms", K_INT, CFG(max_atoms), GE, 1, NO_LIMIT, 0},
    {"imax_atoms", K_INT, CFG(imax_atoms), GE, 1, NO_LIMIT, 0},
    {"max_ax", K_INT, CFG(max_ax), GE, 1, NO_LIMIT, 0},
    {"ap_scale", K_DOUBLE, CFG(ap_scale), GT, 0, NO_LIMIT, 0},
    {"fixed_ap", K_DOUBLE, CFG(fixed_ap), GT, 0, NO_LIMIT, 0},
    {"system_type", K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
    {"vac_ratio", K_INT, CFG(vac_ratio), GE, 1, NO_LIMIT, 0},
    {"density_cutoff", K_DOUBLE, CFG(density_cutoff), GE, 0, NO_LIMIT, 0},
    {"check_distances", K_BOOL, CFG(check_distances), NO_LIMIT, 0, NO_LIMIT, 0},
    {"dist_cutoff", K_DOUBLE, CFG(dist_cutoff), GE, 0, NO_LIMIT, 0},
    {"check_bonds", K_BOOL, CFG(check_bonds), NO_LIMIT, 0, NO_LIMIT, 0},
    {"btol", K_DOUBLE, CFG(btol), GE, 0, GE, 1},
    {"ratt_dist", K_DOUBLE, CFG(ratt_dist), GE, 0, NO_LIMIT, 0},
    {"use_spglib", K_BOOL, CFG(use_spglib), NO_LIMIT, 0, NO_LIMIT, 0},
    {"initial_gen", K_INT, CFG(initial_gen), GE, 1, NO_LIMIT, 0},
    {"iterations", K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
    {"search", K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
    /* trial k of a step has its own rattle stream RATTLE_TRIAL + k, k < 256 (fuse2/search.h) */
    {"search_gen_bh", K_INT, CFG(search_gen_bh), GE, 1, GE, FUSE2_MAX_TRIALS_PER_STEP},
    {"T", K_DOUBLE, CFG(T), GT, 0, NO_LIMIT, 0},
    {"melt_threshold", K_INT, CFG(melt_threshold), GE, 0, NO_LIMIT, 0},
    {"rmax", K_INT, CFG(rmax), GE, 1, NO_LIMIT, 0},
    {"e_prec", K_DOUBLE, CFG(e_prec), GT, 0, NO_LIMIT, 0},
    {"n_moves", K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
    {"r_moves", K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
    {"grid_spacing", K_DOUBLE, CFG(grid_spacing), GT, 0, NO_LIMIT, 0},
    {"exclusion", K_DOUBLE, CFG(exclusion), GT, 0, NO_LIMIT, 0},
    {"revert_atoms", K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
    {"read_exisiting_structures", K_BOOL, CFG(read_existing_structures), NO_LIMIT, 0, NO_LIMIT, 0},
    {"read_existing_structures", K_BOOL, CFG(read_existing_structures), NO_LIMIT, 0, NO_LIMIT, 0},
    {"path_to_structures", K_PATH, CFG(path_to_structures), NO_LIMIT, 0, NO_LIMIT, 0},
    {"pull_spp_rank", K_BOOL, CFG(pull_spp_rank), NO_LIMIT, 0, NO_LIMIT, 0},
    {"pull_random", K_BOOL, CFG(pull_random), NO_LIMIT, 0, NO_LIMIT, 0},
    {"generate_gn_boss_structures", K_BOOL, CFG(generate_gn_boss_structures), NO_LIMIT, 0, NO_LIMIT, 0},
    {"gn_boss_command", K_STRING, CFG(gn_boss_command), NO_LIMIT, 0, NO_LIMIT, 0},
    {"gn_template_path", K_PATH, CFG(gn_template_path), NO_LIMIT, 0, NO_LIMIT, 0},
    {"gn_search", K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
    {"gn_max_step", K_INT, CFG(gn_max_step), GE, 1, NO_LIMIT, 0},
    {"gn_zn_range", K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
    {"rank_gn_structures", K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
    {"ranking", K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
    {"clear_previous_gn_structures", K_BOOL, CFG(clear_previous_gn_structures), NO_LIMIT, 0, NO_LIMIT, 0},
    {"generate_structures_only", K_BOOL, CFG(generate_structures_only), NO_LIMIT, 0, NO_LIMIT, 0},
    {"restart", K_BOOL, CFG(restart), NO_LIMIT, 0, NO_LIMIT, 0},
    {"write_all_structures", K_BOOL, CFG(write_all_structures), NO_LIMIT, 0, NO_LIMIT, 0},
    {"output_dir", K_PATH, CFG(output_dir), NO_LIMIT, 0, NO_LIMIT, 0},
    {"campaign_file", K_STRING, CFG(campaign_file), NO_LIMIT, 0, NO_LIMIT, 0},
    {"stop_file", K_STRING, CFG(stop_file), NO_LIMIT, 0, NO_LIMIT, 0},
    {"walkers", K_INT, CFG(walkers), GE, 1, NO_LIMIT, 0},
    {"checkpoint_interval", K_DOUBLE, CFG(checkpoint_interval), GT, 0, NO_LIMIT, 0},
    {"progress_steps", K_INT, CFG(progress_steps), GE, 0, NO_LIMIT, 0},
    {"seed", K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
    {"symprec", K_DOUBLE, CFG(symprec), GT, 0, NO_LIMIT, 0},
    {"submodule_shrink", K_DOUBLE, CFG(submodule_shrink), GT, 0, GE, 1},
    {"oxidation_states", K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
    {"calculator", K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
    {"relax", K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
    {NULL, K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
};

static const key_spec relax_keys[] = {
    {"optimizer", K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
    {"fmax", K_DOUBLE, RLX(fmax), GT, 0, NO_LIMIT, 0},
    {"smax", K_DOUBLE, RLX(smax), GT, 0, NO_LIMIT, 0},
    {"max_steps", K_INT, RLX(max_steps), GE, 1, NO_LIMIT, 0},
    {"max_step", K_DOUBLE, RLX(max_step), GT, 0, NO_LIMIT, 0},
    {"fixed_cell", K_BOOL, RLX(fixed_cell), NO_LIMIT, 0, NO_LIMIT, 0},
    {"pressure", K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
    {"time_limit", K_DOUBLE, RLX(time_limit), GE, 0, NO_LIMIT, 0},
    {"hard_core_fraction", K_DOUBLE, RLX(hard_core_fraction), GE, 0, GT, 1},
    {"lbfgs_memory", K_INT, RLX(lbfgs_memory), GE, 1, NO_LIMIT, 0},
    {"fire_switch_fmax", K_DOUBLE, RLX(fire_switch_fmax), GT, 0, NO_LIMIT, 0},
    {NULL, K_SPECIAL, 0, NO_LIMIT, 0, NO_LIMIT, 0},
};

/* FUSE2 keys that fuse2-mpi replaces: a specific message instead of "unknown". */
static const struct {
    const char *name, *instead;
} replaced_keys[] = {
    {"ctype", "the 'calculator:' section (name: builtin, ...)"},
    {"calcs", "the 'calculator:' section"},
    {"kwds", "the 'relax:' section"},
    {"gulp_opts", "the 'relax:' section"},
    {"lib", "'library' in the 'calculator:' section"},
    {"shel", "the potential library"},
    {"gulp_command", "the 'calculator:' section"},
    {"gulp_timeout", "'time_limit' in the 'relax:' section"},
    {"assemble_spp_", "a potential library in the 'calculator:' section"},
    {"spp_path", "a potential library in the 'calculator:' section"},
    {"vasp_opts", "the 'calculator:' section"},
    {"qe_opts", "the 'calculator:' section"},
    {"kcut", "the 'calculator:' section"},
    {"n_opts", "the 'relax:' section"},
    {"relaxer_opts", "the 'relax:' section"},
    {"opt_class", "'optimizer' in the 'relax:' section"},
    {"opt_device", "the 'calculator:' section"},
    {"mode", "the 'relax:' section"},
    {"r_calcs", "'ranking'"},
    {"r_kwds", "the 'relax:' section"},
    {"r_gulp_opts", "the 'relax:' section"},
    {"r_lib", "the 'calculator:' section"},
    {"output_graph_at_end", "'fuse2 inspect'"},
    {"swap_searches", "nothing (search 1 is the only search)"},
};

static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    int d[64][64];
    for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

/* The closest name within a few edits, or NULL. */
static const char *closest(const char *key, const char *const *names, int n)
{
    const char *best = NULL;
    int bestd = 99;
    for (int i = 0; i < n; i++) {
        int d = edit_distance(key, names[i]);
        if (d < bestd) {
            bestd = d;
            best = names[i];
        }
    }
    int limit = (int)strlen(key) / 3;
    if (limit < 2) limit = 2;
    return bestd <= limit ? best : NULL;
}

static void unknown_key(ctx *c, const yaml_node_t *k, const char *section, const key_spec *table)
{
    const char *names[128];
    int n = 0;
    for (const key_spec *s = table; s->name && n < 128; s++) names[n++] = s->name;
    const char *key = scalar_text(k);
    const char *near = closest(key, names, n);
    if (near)
        add_error(c, line_of(k), "unknown key '%s'%s%s (did you mean '%s'?)", key, section ? " in " : "",
                  section ? section : "", near);
    else
        add_error(c, line_of(k), "unknown key '%s'%s%s", key, section ? " in " : "", section ? section : "");
}

static void bound_error(ctx *c, const yaml_node_t *v, const char *name, const char *op, double limit)
{
    add_error(c, line_of(v), "'%s' must be %s %g (got %s)", name, op, limit, scalar_text(v));
}

/* Applies a table entry of kind INT/DOUBLE/BOOL/STRING/PATH at base. */
/* FUSE2 switches whose machinery (the GN-OA ML generator and its pool
 * ranking) is not part of fuse2-mpi yet: true is an error rather than a
 * setting that silently does nothing. */
static void refuse_unavailable(ctx *c, const char *name, const yaml_node_t *v)
{
    static const char *const unavailable[] = {"generate_gn_boss_structures", "generate_structures_only",
                                              "clear_previous_gn_structures", NULL};
    for (int i = 0; unavailable[i]; i++)
        if (!strcmp(name, unavailable[i]))
            add_error(c, line_of(v), "'%s: true' needs the GN-OA ML generator, which this version of fuse2-mpi "
                                     "does not have; seed the campaign from existing CIFs with "
                                     "read_exisiting_structures and path_to_structures", name);
}

static void apply_simple(ctx *c, const key_spec *s, const yaml_node_t *v, void *base)
{
    char *p = (char *)base + s->offset;
    double x = 0;
    if (s->kind == K_INT) {
        int i;
        if (!get_int(c, s->name, v, &i)) return;
        x = i;
        *(int *)p = i;
    } else if (s->kind == K_DOUBLE) {
        if (!get_double(c, s->name, v, &x)) return;
        *(double *)p = x;
    } else if (s->kind == K_BOOL) {
        if (get_bool(c, s->name, v, (int *)p) && *(int *)p) refuse_unavailable(c, s->name, v);
        return;
    } else {
        const char *t;
        if (!get_string(c, s->name, v, &t)) return;
        char *value = s->kind == K_PATH ? resolve_path(c, t) : dup_string(t);
        if (!replace_string((char **)p, value)) add_error(c, line_of(v), "out of memory");
        return;
    }
    if (s->lo_op == GE && !(x >= s->lo)) bound_error(c, v, s->name, ">=", s->lo);
    else if (s->lo_op == GT && !(x > s->lo)) bound_error(c, v, s->name, ">", s->lo);
    else if (s->hi_op == GE && !(x <= s->hi)) bound_error(c, v, s->name, "<=", s->hi);
    else if (s->hi_op == GT && !(x < s->hi)) bound_error(c, v, s->name, "<", s->hi);
}

static const key_spec *find_key(const key_spec *table, const char *name)
{
    for (const key_spec *s = table; s->name; s++)
        if (!strcmp(s->name, name)) return s;
    return NULL;
}

/* Checks that n is a mapping with scalar, unique keys; reports otherwise. */
static int check_mapping(ctx *c, yaml_document_t *doc, const yaml_node_t *n, const char *name)
{
    if (n->type != YAML_MAPPING_NODE) {
        if (name) add_error(c, line_of(n), "'%s' must be a mapping, got %s", name,
                            n->type == YAML_SCALAR_NODE ? "a scalar" : node_kind_name(n));
        else add_error(c, line_of(n), "the campaign file must be a mapping of keys to values");
        return 0;
    }
    int ok = 1;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k->type != YAML_SCALAR_NODE) {
            add_error(c, line_of(k), "keys must be plain names, got %s", node_kind_name(k));
            ok = 0;
            continue;
        }
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = yaml_document_get_node(doc, q->key);
            if (k2->type == YAML_SCALAR_NODE && !strcmp(scalar_text(k), scalar_text(k2))) {
                add_error(c, line_of(k), "duplicate key '%s' (first at line %d)", scalar_text(k), line_of(k2));
                ok = 0;
            }
        }
    }
    return ok;
}

#define FOR_PAIRS(doc, map, k, v)                                                               \
    for (yaml_node_pair_t *pair_ = (map)->data.mapping.pairs.start; pair_ < (map)->data.mapping.pairs.top; \
         pair_++)                                                                               \
        for (yaml_node_t *k = yaml_document_get_node(doc, pair_->key),                          \
                         *v = yaml_document_get_node(doc, pair_->value);                        \
             k; k = NULL)

/* ---- special keys ---- */

static void parse_composition(ctx *c, yaml_document_t *doc, const yaml_node_t *v)
{
    fuse2_composition *comp = &c->cfg->composition;
    memset(comp, 0, sizeof *comp);
    if (v->type == YAML_SCALAR_NODE) {
        if (fuse2_composition_parse(scalar_text(v), comp) != FUSE2_OK) {
            add_error(c, line_of(v), "composition: %s", fuse2_error_message());
            fuse2_error_clear();
            memset(comp, 0, sizeof *comp);
        }
    } else if (v->type == YAML_MAPPING_NODE) {
        if (!check_mapping(c, doc, v, "composition")) return;
        FOR_PAIRS(doc, v, k, val) {
            int z = fuse2_element_z_from_symbol(scalar_text(k)), count;
            if (!z) {
                add_error(c, line_of(k), "unknown element '%s' in composition", scalar_text(k));
                continue;
            }
            if (!get_int(c, scalar_text(k), val, &count)) continue;
            if (count < 1) {
                add_error(c, line_of(val), "'%s' must be >= 1 (got %d)", scalar_text(k), count);
                continue;
            }
            if (comp->nelements == FUSE2_COMPOSITION_MAX_ELEMENTS) {
                add_error(c, line_of(k), "composition: more than %d elements", FUSE2_COMPOSITION_MAX_ELEMENTS);
                return;
            }
            comp->z[comp->nelements] = z;
            comp->count[comp->nelements++] = count;
        }
        if (!comp->nelements) add_error(c, line_of(v), "composition is empty");
    } else {
        add_error(c, line_of(v), "'composition' must be a formula or a mapping element: count, got a list");
    }
    for (int i = 0; i < comp->nelements; i++) {
        const fuse2_element *e = fuse2_element_by_z(comp->z[i]);
        if (!e->fuse_supported)
            add_error(c, line_of(v), "element '%s' is not supported by FUSE (no entry in its bond table)",
                      e->symbol);
    }
}

static void parse_moves(ctx *c, yaml_document_t *doc, const char *name, const yaml_node_t *v, int *w)
{
    if (!check_mapping(c, doc, v, name)) return;
    /* as in FUSE2, moves absent from a given table are off */
    for (int i = 0; i < FUSE2_NUM_MOVES; i++) w[i] = 0;
    int any = 0;
    FOR_PAIRS(doc, v, k, val) {
        char *end;
        long m = strtol(scalar_text(k), &end, 10);
        if (end == scalar_text(k) || *end || m < 1 || m > FUSE2_NUM_MOVES) {
            add_error(c, line_of(k), "'%s': move '%s' is not a move number 1..%d", name, scalar_text(k),
                      FUSE2_NUM_MOVES);
            continue;
        }
        char label[64];
        snprintf(label, sizeof label, "%s[%ld]", name, m);
        int weight;
        if (!get_int(c, label, val, &weight)) continue;
        if (weight < 0) {
            add_error(c, line_of(val), "'%s' must be >= 0 (got %d)", label, weight);
            continue;
        }
        w[m - 1] = weight;
        any |= weight > 0;
    }
    if (!any) add_error(c, line_of(v), "'%s': every move weight is 0, no move can be made", name);
}

static void parse_oxidation_states(ctx *c, yaml_document_t *doc, const yaml_node_t *v)
{
    fuse2_config *cfg = c->cfg;
    if (!check_mapping(c, doc, v, "oxidation_states")) return;
    int seen[FUSE2_COMPOSITION_MAX_ELEMENTS] = {0};
    FOR_PAIRS(doc, v, k, val) {
        const char *sym = scalar_text(k);
        int z = fuse2_element_z_from_symbol(sym), idx = -1;
        for (int i = 0; i < cfg->composition.nelements; i++)
            if (cfg->composition.z[i] == z) idx = i;
        if (!z || idx < 0) {
            add_error(c, line_of(k), "oxidation_states: '%s' is not an element of the composition", sym);
            continue;
        }
        char label[64];
        snprintf(label, sizeof label, "oxidation_states[%s]", sym);
        int q;
        if (!get_int(c, label, val, &q)) continue;
        if (q == 0) {
            add_error(c, line_of(val), "'%s' must not be 0 (the ionic sub-module needs cations and anions)", label);
            continue;
        }
        if (fuse2_element_ionic_radius(z, q) <= 0) {
            add_error(c, line_of(val), "no Shannon radius for %s%+d: choose another oxidation state or drop "
                      "'oxidation_states'", sym, q);
            continue;
        }
        cfg->oxidation_state[idx] = q;
        seen[idx] = 1;
    }
    int ncat = 0, nan = 0, complete = 1;
    for (int i = 0; i < cfg->composition.nelements; i++) {
        if (!seen[i]) {
            if (complete)
                add_error(c, line_of(v), "oxidation_states: no oxidation state for '%s'",
                          fuse2_element_by_z(cfg->composition.z[i])->symbol);
            complete = 0;
        }
        ncat += cfg->oxidation_state[i] > 0;
        nan += cfg->oxidation_state[i] < 0;
    }
    if (complete && (!ncat || !nan))
        add_error(c, line_of(v), "oxidation_states: the ionic sub-module size needs at least one cation and one anion");
    cfg->has_oxidation_states = 1;
}

/* Calculator settings whose values are paths, resolved against the YAML
 * file's directory (the last component of a dotted key decides). */
static int is_path_setting(const char *key)
{
    static const char *const paths[] = {"library", "pseudo_dir", "scratch", "spp_path", "potcar_dir", NULL};
    const char *last = strrchr(key, '.');
    last = last ? last + 1 : key;
    for (int i = 0; paths[i]; i++)
        if (!strcmp(last, paths[i])) return 1;
    return 0;
}

static void add_setting(ctx *c, const char *key, const yaml_node_t *val)
{
    if (c->nitems == c->items_capacity) {
        int cap = c->items_capacity ? 2 * c->items_capacity : 16;
        fuse2_setting *grown = realloc(c->items, (size_t)cap * sizeof *grown);
        if (!grown) {
            add_error(c, line_of(val), "out of memory");
            return;
        }
        memset(grown + c->items_capacity, 0, (size_t)(cap - c->items_capacity) * sizeof *grown);
        c->items = grown;
        c->items_capacity = cap;
    }
    const char *text = is_null(val) ? "" : scalar_text(val);
    char origin[4096 + 32];
    snprintf(origin, sizeof origin, "%s:%d", c->file, line_of(val));
    fuse2_setting *it = &c->items[c->nitems++];
    it->key = dup_string(key);
    it->value = is_path_setting(key) && *text ? resolve_path(c, text) : dup_string(text);
    it->origin = dup_string(origin);
    if (!it->key || !it->value || !it->origin) add_error(c, line_of(val), "out of memory");
}

/* Nested mappings and lists become dotted keys (fuse2/calc.h):
 * stages: [{name: qe}] -> "stages.0.name". */
static void flatten_setting(ctx *c, yaml_document_t *doc, const char *key, const yaml_node_t *val, int depth)
{
    if (depth > 4) {
        add_error(c, line_of(val), "calculator setting '%s' is nested too deeply", key);
        return;
    }
    char sub[512];
    if (val->type == YAML_MAPPING_NODE) {
        FOR_PAIRS(doc, val, k2, v2) {
            if (k2->type != YAML_SCALAR_NODE) {
                add_error(c, line_of(k2), "keys must be plain names, got %s", node_kind_name(k2));
                continue;
            }
            snprintf(sub, sizeof sub, "%s.%s", key, scalar_text(k2));
            flatten_setting(c, doc, sub, v2, depth + 1);
        }
    } else if (val->type == YAML_SEQUENCE_NODE) {
        int i = 0;
        for (yaml_node_item_t *item = val->data.sequence.items.start; item < val->data.sequence.items.top; item++) {
            snprintf(sub, sizeof sub, "%s.%d", key, i++);
            flatten_setting(c, doc, sub, yaml_document_get_node(doc, *item), depth + 1);
        }
        if (i == 0) add_error(c, line_of(val), "calculator setting '%s' is an empty list", key);
    } else {
        add_setting(c, key, val);
    }
}

/* Calculator names for messages: "builtin, synthetic, ...". */
static void calculator_names(char *known, size_t size)
{
    known[0] = '\0';
    for (const fuse2_calc_ops *const *o = fuse2_calc_list(); *o; o++) {
        if (*known) strncat(known, ", ", size - strlen(known) - 1);
        strncat(known, (*o)->name, size - strlen(known) - 1);
    }
}

static void parse_calculator(ctx *c, yaml_document_t *doc, const yaml_node_t *v)
{
    fuse2_config *cfg = c->cfg;
    if (c->items || !check_mapping(c, doc, v, "calculator")) return; /* a duplicate is reported */
    const yaml_node_t *name_node = NULL;
    FOR_PAIRS(doc, v, k, val) {
        const char *key = scalar_text(k);
        if (!strcmp(key, "name")) {
            const char *t;
            if (get_string(c, "name", val, &t)) {
                replace_string(&cfg->calc_name, dup_string(t));
                name_node = val;
                cfg->calc_line = line_of(val);
            }
            continue;
        }
        flatten_setting(c, doc, key, val, 0);
    }
    cfg->calc_settings.items = c->items;
    cfg->calc_settings.count = c->nitems;
    char known[256];
    calculator_names(known, sizeof known);
    if (!name_node) {
        add_error(c, line_of(v), "calculator: missing 'name' (registered: %s)", known);
        return;
    }
    const fuse2_calc_ops *ops = fuse2_calc_find(cfg->calc_name);
    if (!ops) {
        add_error(c, line_of(name_node), "unknown calculator '%s' (registered: %s)", cfg->calc_name, known);
        return;
    }
    /* the key check fuse2_calc_create makes, with a hint for typos */
    const char *names[64];
    int nnames = 0;
    for (const char *const *k = ops->keys; k && *k && nnames < 64; k++) names[nnames++] = *k;
    for (const char *const *k = ops->common_keys; k && *k && nnames < 64; k++) names[nnames++] = *k;
    for (int i = 0; i < c->nitems; i++) {
        const fuse2_setting *it = &c->items[i];
        if (fuse2_calc_key_known(ops, it->key)) {
            if (!strcmp(it->key, "library") && access(it->value, R_OK) != 0)
                add_error(c, atoi(strrchr(it->origin, ':') + 1), "cannot read the potential library '%s'",
                          it->value);
            continue;
        }
        const char *dot = strchr(it->key, '.');
        if (dot) { /* a list or mapping given for a plain setting */
            char head[128];
            snprintf(head, sizeof head, "%.*s", (int)(dot - it->key), it->key);
            if (fuse2_calc_key_known(ops, head)) {
                int reported = 0; /* once per setting, not per entry */
                for (int j = 0; j < i; j++)
                    reported |= !strncmp(c->items[j].key, head, strlen(head)) && c->items[j].key[strlen(head)] == '.';
                if (!reported)
                    add_error(c, atoi(strrchr(it->origin, ':') + 1),
                              "calculator setting '%s' must be a single value, got a list or mapping", head);
                continue;
            }
        }
        const char *near = closest(it->key, names, nnames);
        char hint[128] = "";
        size_t nl = near ? strlen(near) : 0;
        if (near && nl > 2 && !strcmp(near + nl - 2, ".*"))
            snprintf(hint, sizeof hint, " ('%.*s' takes nested entries: a list or a mapping)", (int)(nl - 2), near);
        else if (near)
            snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
        add_error(c, atoi(strrchr(it->origin, ':') + 1), "unknown setting '%s' for calculator '%s'%s", it->key,
                  ops->name, hint);
    }
    /* values, files and elements: fuse2_config_calculator_create */
}

static void parse_relax(ctx *c, yaml_document_t *doc, const yaml_node_t *v)
{
    fuse2_config *cfg = c->cfg;
    if (!check_mapping(c, doc, v, "relax")) return;
    FOR_PAIRS(doc, v, k, val) {
        const char *key = scalar_text(k);
        const key_spec *s = find_key(relax_keys, key);
        if (!s) {
            unknown_key(c, k, "relax", relax_keys);
        } else if (!strcmp(key, "optimizer")) {
            const char *t;
            if (get_string(c, "optimizer", val, &t) && fuse2_optimizer_parse(t, &cfg->relax.optimizer) != FUSE2_OK) {
                add_error(c, line_of(val), "%s", fuse2_error_message());
                fuse2_error_clear();
            }
        } else if (!strcmp(key, "pressure")) {
            double p;
            if (get_double(c, "pressure", val, &p)) {
                cfg->pressure_gpa = p;
                cfg->relax.pressure = p * GPA_TO_EV_PER_A3;
            }
        } else {
            apply_simple(c, s, val, &cfg->relax);
        }
    }
}

static void parse_special(ctx *c, yaml_document_t *doc, const char *key, const yaml_node_t *v)
{
    fuse2_config *cfg = c->cfg;
    const char *t;
    if (!strcmp(key, "n_moves")) {
        parse_moves(c, doc, key, v, cfg->n_moves);
    } else if (!strcmp(key, "r_moves")) {
        parse_moves(c, doc, key, v, cfg->r_moves);
    } else if (!strcmp(key, "calculator")) {
        parse_calculator(c, doc, v);
    } else if (!strcmp(key, "relax")) {
        parse_relax(c, doc, v);
    } else if (!strcmp(key, "system_type")) {
        if (get_string(c, key, v, &t) && strcmp(t, "neutral"))
            add_error(c, line_of(v), "system_type must be 'neutral' (FUSE2's ionic paths are dead code); "
                      "give 'oxidation_states' for the ionic sub-module size");
    } else if (!strcmp(key, "iterations")) {
        int n;
        /* FUSE2's default 0 would pass here and fail only when the run starts
         * ("no initial population"): say what the key means instead */
        if (!get_int(c, key, v, &n)) return;
        if (n < 1)
            add_error(c, line_of(v), "'iterations' must be >= 1 (got %d): it is the campaign's total relaxation "
                      "budget (initial population + basin-hopping trials)", n);
        else cfg->iterations = n;
    } else if (!strcmp(key, "search")) {
        int s;
        if (get_int(c, key, v, &s) && s != 1)
            add_error(c, line_of(v), "'search' must be 1 (basin hopping); FUSE2's searches 2 and 3 are not "
                      "implemented (got %d)", s);
    } else if (!strcmp(key, "revert_atoms")) {
        if (is_null(v) || (v->type == YAML_SCALAR_NODE && !*scalar_text(v))) cfg->revert_atoms = -1;
        else get_bool(c, key, v, &cfg->revert_atoms);
    } else if (!strcmp(key, "gn_search")) {
        if (!get_string(c, key, v, &t)) return;
        if (!strcmp(t, "rand")) cfg->gn_search = FUSE2_GN_RAND;
        else if (!strcmp(t, "tpe")) cfg->gn_search = FUSE2_GN_TPE;
        else if (!strcmp(t, "pso")) cfg->gn_search = FUSE2_GN_PSO;
        else add_error(c, line_of(v), "'gn_search' must be rand, tpe or pso, got '%s'", t);
    } else if (!strcmp(key, "rank_gn_structures")) {
        if (!get_string(c, key, v, &t)) return;
        if (!*t || !strcasecmp(t, "none")) cfg->rank_gn_structures = FUSE2_GN_RANK_NONE;
        else if (!strcmp(t, "opti")) cfg->rank_gn_structures = FUSE2_GN_RANK_OPTI;
        else if (!strcmp(t, "single")) cfg->rank_gn_structures = FUSE2_GN_RANK_SINGLE;
        else add_error(c, line_of(v), "'rank_gn_structures' must be none, opti or single, got '%s'", t);
    } else if (!strcmp(key, "ranking")) {
        if (get_string(c, key, v, &t) && *t && strcmp(t, "calculator"))
            add_error(c, line_of(v), "'ranking' must be 'calculator' (the campaign calculator ranks the pool "
                      "in fuse2-mpi), got '%s'", t);
    } else if (!strcmp(key, "gn_zn_range")) {
        if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top == v->data.sequence.items.start) {
            add_error(c, line_of(v), "'gn_zn_range' must be a list of formula-unit counts, e.g. [1, 4]");
            return;
        }
        int first = 0, last = 0, ok = 1;
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
            yaml_node_t *x = yaml_document_get_node(doc, *it);
            int z;
            if (!get_int(c, "gn_zn_range", x, &z)) { ok = 0; continue; }
            if (z < 1) { add_error(c, line_of(x), "'gn_zn_range' entries must be >= 1 (got %d)", z); ok = 0; }
            if (it == v->data.sequence.items.start) first = z;
            last = z;
        }
        if (!ok) return;
        if (last < first) add_error(c, line_of(v), "'gn_zn_range' must run from the smallest to the largest Z");
        cfg->gn_zn_range[0] = first;
        cfg->gn_zn_range[1] = last;
    } else if (!strcmp(key, "seed")) {
        if (!want_scalar(c, key, v, "an integer")) return;
        t = scalar_text(v);
        char *end;
        errno = 0;
        unsigned long long s = strtoull(t, &end, 10);
        if (end == t || *end || errno || t[0] == '-' || t[0] == '+')
            add_error(c, line_of(v), "'seed' must be an integer 0..18446744073709551615, got '%s'", t);
        else cfg->seed = (uint64_t)s;
    }
}

/* ---- derived values ---- */

static int key_line(yaml_document_t *doc, const yaml_node_t *root, const char *name)
{
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k->type == YAML_SCALAR_NODE && !strcmp(scalar_text(k), name)) return line_of(k);
    }
    return line_of(root);
}

static void derive(ctx *c, yaml_document_t *doc, const yaml_node_t *root)
{
    fuse2_config *cfg = c->cfg;
    const fuse2_composition *comp = &cfg->composition;
    cfg->apfu = fuse2_composition_atoms_per_formula(comp);
    if (cfg->apfu <= 0) return;
    cfg->max_fus = cfg->max_atoms / cfg->apfu;
    cfg->imax_fus = cfg->imax_atoms / cfg->apfu;
    if (cfg->max_fus == 0)
        add_error(c, key_line(doc, root, "max_atoms"), "max_atoms (%d) is smaller than one formula unit (%d atoms)",
                  cfg->max_atoms, cfg->apfu);
    if (cfg->imax_fus == 0)
        add_error(c, key_line(doc, root, "imax_atoms"),
                  "imax_atoms (%d) is smaller than one formula unit (%d atoms)", cfg->imax_atoms, cfg->apfu);
    free(cfg->fu_species);
    cfg->fu_species = malloc((size_t)cfg->apfu * sizeof *cfg->fu_species);
    if (!cfg->fu_species) {
        add_error(c, 1, "out of memory");
        return;
    }
    int n = 0;
    double rsum = 0, mass = 0, vol = 0, rcat = 0, ran = 0;
    int ncat = 0, nan = 0;
    for (int i = 0; i < comp->nelements; i++) {
        const fuse2_element *e = fuse2_element_by_z(comp->z[i]);
        for (int j = 0; j < comp->count[i]; j++) {
            cfg->fu_species[n++] = comp->z[i];
            double r = e->fuse_atomic_radius;
            rsum += r;
            mass += e->mass;
            vol += 4.0 / 3.0 * M_PI * r * r * r;
            if (cfg->has_oxidation_states) {
                int q = cfg->oxidation_state[i];
                double ri = fuse2_element_ionic_radius(comp->z[i], q);
                if (q > 0) { rcat += ri; ncat++; }
                else if (q < 0) { ran += ri; nan++; }
            }
        }
    }
    double ap;
    if (cfg->has_oxidation_states && ncat && nan) ap = 2.0 * (rcat / ncat + ran / nan); /* §17.1, FUSE v1 */
    else ap = 4.0 * rsum / cfg->apfu;                                                   /* §3.1 */
    ap *= cfg->ap_scale;
    if (cfg->fixed_ap > 0) ap = cfg->fixed_ap;
    cfg->ap = round(ap * 1e4) / 1e4;
    cfg->rho_ideal = vol > 0 ? mass / vol : 0;
}

/* ---- public ---- */

fuse2_status fuse2_config_init(fuse2_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_ax = 40;
    cfg->ap_scale = 1.0;
    cfg->vac_ratio = 4;
    cfg->density_cutoff = 0.4;
    cfg->check_distances = 1;
    cfg->dist_cutoff = 1.0;
    cfg->check_bonds = 1;
    cfg->btol = 0.25;
    cfg->ratt_dist = 0.05;
    cfg->use_spglib = 1;
    cfg->initial_gen = 20;
    cfg->iterations = 0; /* required (>= 1): FUSE2's default 0 relaxes nothing */
    cfg->search = 1;
    cfg->search_gen_bh = 1;
    cfg->T = 0.02;
    cfg->melt_threshold = 150;
    cfg->rmax = 1000;
    cfg->e_prec = 1e-5;
    for (int i = 0; i < FUSE2_NUM_MOVES; i++) cfg->n_moves[i] = cfg->r_moves[i] = 1;
    cfg->grid_spacing = 0.75;
    cfg->exclusion = 1.5;
    cfg->revert_atoms = -1;
    cfg->pull_spp_rank = 1;
    cfg->gn_search = FUSE2_GN_TPE;
    cfg->gn_max_step = 500;
    cfg->gn_zn_range[0] = 1;
    cfg->gn_zn_range[1] = 4;
    cfg->rank_gn_structures = FUSE2_GN_RANK_SINGLE;
    cfg->write_all_structures = 1;
    cfg->walkers = 1;
    cfg->symprec = 1e-5;
    cfg->submodule_shrink = 0.8;
    fuse2_relax_options_default(&cfg->relax);
    cfg->source = dup_string("");
    cfg->path_to_structures = dup_string("");
    cfg->gn_boss_command = dup_string("");
    cfg->gn_template_path = dup_string("");
    cfg->output_dir = dup_string(".");
    cfg->campaign_file = dup_string("campaign.h5");
    cfg->stop_file = dup_string("stop.txt");
    cfg->checkpoint_interval = 30.0;
    cfg->progress_steps = 0; /* a progress line every 10 s */
    if (!cfg->source || !cfg->path_to_structures || !cfg->gn_boss_command || !cfg->gn_template_path ||
        !cfg->output_dir || !cfg->campaign_file || !cfg->stop_file) {
        fuse2_config_free(cfg);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate the configuration");
    }
    return FUSE2_OK;
}

void fuse2_config_free(fuse2_config *cfg)
{
    free(cfg->source);
    free(cfg->path_to_structures);
    free(cfg->gn_boss_command);
    free(cfg->gn_template_path);
    free(cfg->output_dir);
    free(cfg->campaign_file);
    free(cfg->stop_file);
    free(cfg->calc_name);
    free(cfg->fu_species);
    for (int i = 0; i < cfg->calc_settings.count; i++) {
        free((char *)cfg->calc_settings.items[i].key);
        free((char *)cfg->calc_settings.items[i].value);
        free((char *)cfg->calc_settings.items[i].origin);
    }
    free((fuse2_setting *)cfg->calc_settings.items);
    memset(cfg, 0, sizeof *cfg);
}

/* Absolute directory of path (the file must exist). */
static char *absolute_dir(const char *path)
{
    char *real = realpath(path, NULL);
    if (!real) return NULL;
    char *slash = strrchr(real, '/');
    if (slash == real) slash[1] = '\0';
    else *slash = '\0';
    return real;
}

/* "<stem>.h5" for /some/dir/<stem>.yaml */
static char *default_campaign_file(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base) n = (size_t)(dot - base);
    char *r = malloc(n + 4);
    if (r) {
        memcpy(r, base, n);
        memcpy(r + n, ".h5", 4);
    }
    return r;
}

fuse2_status fuse2_config_calculator_create(const fuse2_config *cfg, fuse2_calc *calc)
{
    const char *file = cfg->source ? cfg->source : "campaign";
    if (fuse2_calc_create(cfg->calc_name, &cfg->calc_settings, calc) != FUSE2_OK) {
        fuse2_error_prefix("%s:%d: calculator '%s': ", file, cfg->calc_line, cfg->calc_name);
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
        return fuse2_error_code();
    }
    /* settings that lack one of the composition's elements would fail every
     * structure: fail here instead */
    if (cfg->composition.nelements > 0 &&
        fuse2_calc_check_elements(calc, cfg->composition.z, cfg->composition.nelements) != FUSE2_OK) {
        fuse2_status st = fuse2_error_code();
        fuse2_error_prefix("%s:%d: calculator '%s': ", file, cfg->calc_line, cfg->calc_name);
        fuse2_calc_destroy(calc);
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
        return st;
    }
    return FUSE2_OK;
}

fuse2_status fuse2_config_load(const char *path, fuse2_config *cfg)
{
    FUSE2_CALL(fuse2_config_init(cfg));
    ctx c = {.file = path, .cfg = cfg};
    fuse2_status st = FUSE2_OK;
    yaml_parser_t parser;
    yaml_document_t doc;
    int have_parser = 0, have_doc = 0;
    FILE *f = fopen(path, "rb");
    if (!f) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    c.dir = absolute_dir(path);
    replace_string(&cfg->source, dup_string(path));
    if (!c.dir || !cfg->source) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_NOMEM, "%s: out of memory", path);
    replace_string(&cfg->output_dir, dup_string(c.dir));
    replace_string(&cfg->campaign_file, default_campaign_file(path));
    if (!yaml_parser_initialize(&parser)) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_NOMEM, "cannot start libyaml");
    have_parser = 1;
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        yaml_mark_t m = parser.problem ? parser.problem_mark : parser.context_mark;
        char where[64] = "";
        if (parser.context) snprintf(where, sizeof where, " (started at line %d)", (int)parser.context_mark.line + 1);
        FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_PARSE, "%s:%d: YAML syntax error: %s%s%s%s", path, (int)m.line + 1,
                         parser.problem ? parser.problem : "unknown problem", parser.context ? " " : "",
                         parser.context ? parser.context : "", where);
    }
    have_doc = 1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_PARSE, "%s:1: the campaign file is empty", path);
    {
        /* a second document would be ignored silently: refuse it */
        yaml_document_t next;
        if (yaml_parser_load(&parser, &next)) {
            yaml_node_t *extra = yaml_document_get_root_node(&next);
            int line = extra ? line_of(extra) : 0;
            yaml_document_delete(&next);
            if (extra)
                FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_PARSE,
                                 "%s:%d: a campaign file holds one YAML document, found a second", path, line);
        }
    }
    if (check_mapping(&c, &doc, root, NULL)) {
        /* composition first: oxidation_states refers to it */
        const yaml_node_t *oxidation = NULL;
        enum { NREQUIRED = 6 };
        int seen_required[NREQUIRED] = {0};
        static const char *const required[NREQUIRED] = {"composition", "max_atoms", "imax_atoms",
                                                        "calculator",  "seed",      "iterations"};
        /* why a key without a default is required, for the message */
        static const char *const why[NREQUIRED] = {
            "", "", "", "",
            " (a campaign is reproducible only with an explicit seed)",
            " (the campaign's total relaxation budget, initial population + basin-hopping trials, >= 1; "
            "FUSE2's default 0 would relax nothing)"};
        FOR_PAIRS(&doc, root, k, v) if (!strcmp(scalar_text(k), "composition")) parse_composition(&c, &doc, v);
        FOR_PAIRS(&doc, root, k, v) {
            const char *key = scalar_text(k);
            for (int i = 0; i < NREQUIRED; i++) seen_required[i] |= !strcmp(key, required[i]);
            const key_spec *s = find_key(top_keys, key);
            if (!s) {
                int replaced = 0;
                for (size_t i = 0; i < sizeof replaced_keys / sizeof replaced_keys[0]; i++)
                    if (!strcmp(key, replaced_keys[i].name)) {
                        add_error(&c, line_of(k), "'%s' is a FUSE2 key that fuse2-mpi replaces by %s", key,
                                  replaced_keys[i].instead);
                        replaced = 1;
                    }
                if (!replaced) unknown_key(&c, k, NULL, top_keys);
            } else if (!strcmp(key, "composition")) {
                continue;
            } else if (!strcmp(key, "oxidation_states")) {
                oxidation = v;
            } else if (s->kind == K_SPECIAL) {
                parse_special(&c, &doc, key, v);
            } else {
                apply_simple(&c, s, v, cfg);
            }
        }
        for (int i = 0; i < NREQUIRED; i++)
            if (!seen_required[i]) add_error(&c, line_of(root), "missing required key '%s'%s", required[i], why[i]);
        if (oxidation && cfg->composition.nelements) parse_oxidation_states(&c, &doc, oxidation);
        if (cfg->read_existing_structures) {
            struct stat sb;
            if (!cfg->path_to_structures || !cfg->path_to_structures[0])
                add_error(&c, line_of(root), "read_exisiting_structures is true but path_to_structures is not given");
            else if (stat(cfg->path_to_structures, &sb) != 0 || !S_ISDIR(sb.st_mode))
                add_error(&c, line_of(root), "path_to_structures: %s is not a directory", cfg->path_to_structures);
        }
        if (!c.nerrors) derive(&c, &doc, root);
    }
    if (c.nerrors) {
        if (c.nerrors > MAX_ERRORS)
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_PARSE, "%s\n(%d more errors)", c.errors ? c.errors : "",
                             c.nerrors - MAX_ERRORS);
        FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_PARSE, "%s", c.errors ? c.errors : "");
    }
done:
    if (have_doc) yaml_document_delete(&doc);
    if (have_parser) yaml_parser_delete(&parser);
    if (f) fclose(f);
    free(c.dir);
    free(c.errors);
    if (st != FUSE2_OK) fuse2_config_free(cfg);
    return st;
}
