/* The ML pool of a campaign (fuse2-algorithm.md §11, §17.4): structures
 * made elsewhere (the ML generator, or CIFs a user collected) that seed the
 * initial population and feed move 14.
 *
 * A pool is an ordered list of entries. Member m of the initial population
 * uses entry m (m < n, §11.3: "unused pool entries in order"); the entries
 * past the initial population are dealt to the walkers (§17.4,
 * fuse2_pool_deal in fuse2/search.h). The campaign file stores the pool once,
 * when the campaign is created (/pool, docs/campaign-file.md), and a
 * resumed campaign reads it back from there, so editing the directory later
 * never changes a running campaign. Units: Å, eV/atom. */
#ifndef FUSE2_POOL_H
#define FUSE2_POOL_H

#include "fuse2/error.h"
#include "fuse2/store.h"
#include "fuse2/structure.h"

#ifdef __cplusplus
extern "C" {
#endif

struct fuse2_config;
struct fuse2_pool_index;

/* sources go into the campaign file as they are */
enum { FUSE2_POOL_SOURCE_LEN = FUSE2_STORE_SOURCE_LEN };

typedef struct fuse2_pool {
    int n, capacity;
    fuse2_structure *structures;
    char (*source)[FUSE2_POOL_SOURCE_LEN]; /* file name without directory, cut to fit */
    double *rank_energy;        /* eV/atom from the directory's *.csv files, NaN if unranked */
    unsigned char *used;        /* 1 once handed out (take_index) */
} fuse2_pool;

/* Empty pool; fuse2_pool_free releases it (and leaves it empty). */
void fuse2_pool_init(fuse2_pool *p);
void fuse2_pool_free(fuse2_pool *p);
/* Appends a copy of s (unused). */
fuse2_status fuse2_pool_add(fuse2_pool *p, const fuse2_structure *s, const char *source,
                            double rank_energy);

typedef void (*fuse2_pool_log_fn)(void *user, const char *line);

/* FUSE2's pool from existing structures (§1.3 read_exisiting_structures,
 * §11.2): every *.cif of cfg->path_to_structures, read with the project's
 * CIF reader, filtered and ordered.
 *   Filter (a rejected file is logged with its reason and left in place,
 *   unlike the original, Q27): unreadable or partially occupied; not an
 *   integer number of formula units of the composition (§7; the original's
 *   normalised-count test); more than max_atoms atoms; with check_distances,
 *   a shortest interatomic distance < dist_cutoff (a 1-atom cell is fine);
 *   an element without FUSE2 radius data (no decomposition).
 *   Order: with pull_spp_rank, ascending energy from the *.csv files of the
 *   directory (rows "name, ..., energy": the name is the file with or
 *   without .cif, the energy the row's last number; a name found twice keeps
 *   its lowest energy), unranked entries last; without ranks and with
 *   pull_random, shuffled with the stream (seed, 0, 0, POOL_ORDER); else by
 *   file name (the original's directory order is arbitrary). Ties and
 *   unranked entries are in file-name order.
 * A missing directory is an error; an empty result is not. */
fuse2_status fuse2_pool_load_directory(const struct fuse2_config *cfg, fuse2_pool_log_fn log,
                                       void *log_user, fuse2_pool *out);

/* An index view of p for fuse2_pool_deal (fuse2/search.h): count() is
 * p->n, take_index() copies an unused entry and marks it used. */
void fuse2_pool_index_view(fuse2_pool *p, struct fuse2_pool_index *out);

#ifdef __cplusplus
}
#endif
#endif
