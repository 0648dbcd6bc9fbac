/* The ML pool: entries, FUSE2's pool from a directory of CIFs (§11.2) and
 * the index view the walkers' dealing uses (§17.4). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "fuse2/config.h"
#include "fuse2/moves.h"
#include "fuse2/neighbors.h"
#include "fuse2/pool.h"
#include "fuse2/rng.h"
#include "fuse2/search.h"
#include "fuse2/store.h"
#include "fuse2/structure_io.h"
#include "fuse2/submodule.h"

void fuse2_pool_init(fuse2_pool *p) { memset(p, 0, sizeof *p); }

void fuse2_pool_free(fuse2_pool *p)
{
    if (!p) return;
    for (int i = 0; i < p->n; i++) fuse2_structure_free(&p->structures[i]);
    free(p->structures);
    free(p->source);
    free(p->rank_energy);
    free(p->used);
    memset(p, 0, sizeof *p);
}

static fuse2_status pool_reserve(fuse2_pool *p, int n)
{
    if (n <= p->capacity) return FUSE2_OK;
    int cap = p->capacity ? 2 * p->capacity : 16;
    while (cap < n) cap *= 2;
    fuse2_structure *s = realloc(p->structures, (size_t)cap * sizeof *s);
    if (s) p->structures = s;
    char(*src)[FUSE2_POOL_SOURCE_LEN] = realloc(p->source, (size_t)cap * sizeof *src);
    if (src) p->source = src;
    double *e = realloc(p->rank_energy, (size_t)cap * sizeof *e);
    if (e) p->rank_energy = e;
    unsigned char *u = realloc(p->used, (size_t)cap);
    if (u) p->used = u;
    if (!s || !src || !e || !u) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "ML pool: room for %d entries", cap);
    p->capacity = cap;
    return FUSE2_OK;
}

fuse2_status fuse2_pool_add(fuse2_pool *p, const fuse2_structure *s, const char *source, double rank_energy)
{
    FUSE2_CALL(pool_reserve(p, p->n + 1));
    fuse2_structure *dst = &p->structures[p->n];
    FUSE2_CALL(fuse2_structure_init(dst, 0));
    fuse2_status st = fuse2_structure_copy(dst, s);
    if (st != FUSE2_OK) {
        fuse2_structure_free(dst);
        FUSE2_CALL(st);
    }
    snprintf(p->source[p->n], FUSE2_POOL_SOURCE_LEN, "%s", source ? source : "");
    p->rank_energy[p->n] = rank_energy;
    p->used[p->n] = 0;
    p->n++;
    return FUSE2_OK;
}

/* ---- index view ---- */

static int view_count(void *user) { return ((fuse2_pool *)user)->n; }

static fuse2_status view_take(void *user, int index, fuse2_structure *out, int *taken)
{
    fuse2_pool *p = user;
    *taken = 0;
    if (index < 0 || index >= p->n) return FUSE2_RAISE(FUSE2_ERR_ARG, "ML pool entry %d of %d", index, p->n);
    if (p->used[index]) return FUSE2_OK;
    FUSE2_CALL(fuse2_structure_copy(out, &p->structures[index]));
    p->used[index] = 1;
    *taken = 1;
    return FUSE2_OK;
}

void fuse2_pool_index_view(fuse2_pool *p, fuse2_pool_index *out)
{
    memset(out, 0, sizeof *out);
    out->user = p;
    out->count = view_count;
    out->take_index = view_take;
}

/* ---- loading a directory (§11.2) ---- */

static void pool_log(fuse2_pool_log_fn log, void *user, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pool_log(fuse2_pool_log_fn log, void *user, const char *fmt, ...)
{
    if (!log) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log(user, line);
}

static int has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n > k && !strcasecmp(name + n - k, suffix);
}

static int compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct name_list {
    char **names;
    int n;
} name_list;

static void name_list_free(name_list *l)
{
    for (int i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof *l);
}

/* Regular files of dir ending in suffix (case-insensitive), sorted by name. */
static fuse2_status list_files(const char *dir, const char *suffix, name_list *out)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return FUSE2_RAISE(FUSE2_ERR_IO, "ML pool: path_to_structures %s: %s", dir, strerror(errno));
    int cap = 0;
    fuse2_status st = FUSE2_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!has_suffix(e->d_name, suffix)) continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *full = malloc(len);
        if (!full) FUSE2_RAISE_GOTO(st, out, FUSE2_ERR_NOMEM, "ML pool: listing %s", dir);
        snprintf(full, len, "%s/%s", dir, e->d_name);
        struct stat sb;
        int regular = stat(full, &sb) == 0 && S_ISREG(sb.st_mode);
        free(full);
        if (!regular) continue;
        if (out->n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(out->names, (size_t)cap * sizeof *grown);
            if (!grown) FUSE2_RAISE_GOTO(st, out, FUSE2_ERR_NOMEM, "ML pool: listing %s", dir);
            out->names = grown;
        }
        out->names[out->n] = strdup(e->d_name);
        if (!out->names[out->n]) FUSE2_RAISE_GOTO(st, out, FUSE2_ERR_NOMEM, "ML pool: listing %s", dir);
        out->n++;
    }
    qsort(out->names, (size_t)out->n, sizeof *out->names, compare_names);
out:
    closedir(d);
    if (st != FUSE2_OK) name_list_free(out);
    return st;
}

/* Strips spaces and quotes around a CSV field, in place. */
static char *trim_field(char *f)
{
    while (*f && (isspace((unsigned char)*f) || *f == '"' || *f == '\'')) f++;
    char *end = f + strlen(f);
    while (end > f && (isspace((unsigned char)end[-1]) || end[-1] == '"' || end[-1] == '\'')) *--end = '\0';
    return f;
}

/* Entry whose file name is `field`, with or without ".cif"; -1 if none. */
static int find_entry(const name_list *cifs, const char *field)
{
    if (!*field) return -1;
    size_t n = strlen(field);
    for (int i = 0; i < cifs->n; i++) {
        const char *name = cifs->names[i];
        if (!strcmp(name, field)) return i;
        if (strlen(name) == n + 4 && !strncmp(name, field, n) && has_suffix(name, ".cif")) return i;
    }
    return -1;
}

/* Ranking energies from every *.csv of dir into energy[] (NaN stays where
 * no row names the file). *ranked counts the entries that got one. */
static fuse2_status read_rank_files(const char *dir, const name_list *cifs, double *energy, int *ranked,
                                    fuse2_pool_log_fn log, void *log_user)
{
    name_list csvs;
    FUSE2_CALL(list_files(dir, ".csv", &csvs));
    fuse2_status st = FUSE2_OK;
    for (int f = 0; f < csvs.n; f++) {
        size_t len = strlen(dir) + strlen(csvs.names[f]) + 2;
        char *path = malloc(len);
        if (!path) FUSE2_RAISE_GOTO(st, out, FUSE2_ERR_NOMEM, "ML pool: reading ranks");
        snprintf(path, len, "%s/%s", dir, csvs.names[f]);
        char *text = NULL;
        st = fuse2_text_file_read(path, &text);
        free(path);
        if (st != FUSE2_OK) goto out;
        int rows = 0;
        for (char *line = strtok(text, "\r\n"); line; line = strtok(NULL, "\r\n")) {
            /* fields of this line; the energy is the last one that is a number */
            char *fields[64];
            int nf = 0;
            for (char *p = line; nf < 64;) {
                fields[nf++] = p;
                char *comma = strchr(p, ',');
                if (!comma) break;
                *comma = '\0';
                p = comma + 1;
            }
            double e = NAN;
            int entry = -1;
            for (int k = 0; k < nf; k++) {
                char *field = trim_field(fields[k]);
                char *end;
                double v = strtod(field, &end);
                if (*field && !*end && isfinite(v)) e = v;
                if (entry < 0) entry = find_entry(cifs, field);
            }
            if (entry < 0 || isnan(e)) continue; /* header, comment or another file */
            if (isnan(energy[entry])) (*ranked)++;
            if (isnan(energy[entry]) || e < energy[entry]) energy[entry] = e;
            rows++;
        }
        free(text);
        pool_log(log, log_user, "ML pool: %s ranks %d structure(s)", csvs.names[f], rows);
    }
out:
    name_list_free(&csvs);
    return st;
}

/* Why s cannot be a pool entry (§11.2), or NULL. */
static const char *reject_reason(const fuse2_config *cfg, const fuse2_structure *s, char *buf, size_t size)
{
    if (s->natoms < 1) return "no atoms";
    if (!fuse2_composition_matches(&cfg->composition, s)) return "not an integer number of formula units of the composition";
    if (s->natoms > cfg->max_atoms) {
        snprintf(buf, size, "%d atoms > max_atoms %d", s->natoms, cfg->max_atoms);
        return buf;
    }
    if (cfg->check_distances && s->natoms > 1) {
        double d = fuse2_structure_min_distance(s);
        if (!(d >= cfg->dist_cutoff)) {
            snprintf(buf, size, "shortest distance %.4f A < dist_cutoff %.4f A", d, cfg->dist_cutoff);
            return buf;
        }
    }
    double ap;
    if (fuse2_structure_submodule_edge(s, &ap) != FUSE2_OK) {
        snprintf(buf, size, "no decomposition: %s", fuse2_error_message());
        fuse2_error_clear();
        return buf;
    }
    return NULL;
}

typedef struct order_key {
    int index;                  /* into the accepted list */
    double energy;              /* NaN: unranked */
    int name_rank;
} order_key;

static int compare_rank(const void *a, const void *b)
{
    const order_key *x = a, *y = b;
    int xr = !isnan(x->energy), yr = !isnan(y->energy);
    if (xr != yr) return yr - xr; /* ranked first */
    if (xr && x->energy != y->energy) return x->energy < y->energy ? -1 : 1;
    return x->name_rank - y->name_rank;
}

fuse2_status fuse2_pool_load_directory(const fuse2_config *cfg, fuse2_pool_log_fn log, void *log_user,
                                       fuse2_pool *out)
{
    fuse2_pool_free(out);
    const char *dir = cfg->path_to_structures;
    if (!dir || !*dir)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: read_exisiting_structures needs path_to_structures",
                           cfg->source ? cfg->source : "campaign");
    name_list cifs;
    fuse2_status st = list_files(dir, ".cif", &cifs);
    if (st != FUSE2_OK) {
        fuse2_error_prefix("%s: ", cfg->source ? cfg->source : "campaign");
        FUSE2_CALL(st);
    }
    fuse2_pool all;
    fuse2_pool_init(&all);
    double *energy = malloc((size_t)(cifs.n ? cifs.n : 1) * sizeof *energy);
    order_key *keys = malloc((size_t)(cifs.n ? cifs.n : 1) * sizeof *keys);
    fuse2_structure s = {0};
    if (!energy || !keys) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_NOMEM, "ML pool: %d files", cifs.n);
    for (int i = 0; i < cifs.n; i++) energy[i] = NAN;
    int ranked = 0;
    if (cfg->pull_spp_rank) FUSE2_CALL_GOTO(st, read_rank_files(dir, &cifs, energy, &ranked, log, log_user), done);

    int rejected = 0;
    for (int i = 0; i < cifs.n; i++) {
        size_t len = strlen(dir) + strlen(cifs.names[i]) + 2;
        char *path = malloc(len);
        if (!path) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_NOMEM, "ML pool: reading %s", cifs.names[i]);
        snprintf(path, len, "%s/%s", dir, cifs.names[i]);
        fuse2_status rs = fuse2_cif_read(path, 0, &s);
        free(path);
        char buf[FUSE2_POOL_SOURCE_LEN + 256];
        const char *why = NULL;
        if (rs == FUSE2_ERR_NOMEM) FUSE2_CALL_GOTO(st, rs, done);
        if (rs != FUSE2_OK) {
            snprintf(buf, sizeof buf, "%s", fuse2_error_message());
            fuse2_error_clear();
            why = buf;
        } else {
            why = reject_reason(cfg, &s, buf, sizeof buf);
        }
        if (why) {
            rejected++;
            pool_log(log, log_user, "ML pool: %s rejected: %s", cifs.names[i], why);
            continue;
        }
        keys[all.n] = (order_key){.index = all.n, .energy = energy[i], .name_rank = i};
        FUSE2_CALL_GOTO(st, fuse2_pool_add(&all, &s, cifs.names[i], energy[i]), done);
    }

    const char *order = "file-name order";
    if (cfg->pull_spp_rank && ranked > 0) {
        qsort(keys, (size_t)all.n, sizeof *keys, compare_rank);
        order = "ranking-energy order";
    } else if (cfg->pull_random) {
        fuse2_rng rng;
        fuse2_rng_init(&rng, cfg->seed, 0, 0, FUSE2_RNG_PURPOSE_POOL_ORDER);
        for (int k = all.n - 1; k > 0; k--) { /* Fisher-Yates */
            int j = fuse2_rng_int(&rng, 0, k);
            order_key t = keys[k];
            keys[k] = keys[j];
            keys[j] = t;
        }
        order = "random order";
    }
    for (int k = 0; k < all.n; k++) {
        int i = keys[k].index;
        FUSE2_CALL_GOTO(st, fuse2_pool_add(out, &all.structures[i], all.source[i], all.rank_energy[i]), done);
    }
    pool_log(log, log_user, "ML pool: %d structure(s) from %s (%d CIF file(s), %d rejected), %s", out->n, dir,
             cifs.n, rejected, order);
done:
    if (st != FUSE2_OK) fuse2_pool_free(out);
    fuse2_structure_free(&s);
    fuse2_pool_free(&all);
    free(energy);
    free(keys);
    name_list_free(&cifs);
    return st;
}
