/* The HDF5 campaign file (docs/campaign-file.md): one file per campaign,
 * written by one process (rank 0) and readable while it is written.
 *
 * Layout (every table an extendible, chunked, compressed dataset; tables of
 * rows are compound datasets whose field names are the member names below):
 *   /config/yaml, /config/resolved    the YAML as given and as resolved
 *   /provenance/runs                  one row per invocation (fuse2_store_run_row)
 *   /structures/records               one row per evaluated structure
 *   /structures/species               int32 Z, one entry per atom
 *   /structures/positions             float64 (n, 3) fractional, relaxed
 *   /structures/start_positions       float64 (n, 3) fractional, before rattle
 *   /structures/stages                one row per stage of a tiered relaxation
 *                                     (fuse2_store_stage_row)
 *   /steps/records                    one row per decided walker step; also
 *                                     the walker's state after the step
 *   /checkpoints/records              one row per commit (fuse2_store_checkpoint_row)
 *   /pool/records, /pool/species, /pool/positions
 *                                     the ML pool, written once at creation
 *                                     (fuse2_store_pool_row)
 *
 * Append-only with commits: rows are buffered by the append calls, written
 * and flushed by fuse2_store_flush (visible to live readers), and committed
 * by fuse2_store_checkpoint, which appends a checkpoint row holding the
 * table lengths. Rows past the last checkpoint are not part of the campaign:
 * fuse2_store_open_resume discards them, so a writer killed at any moment
 * (also during a flush or a checkpoint) leaves a file that resumes from its
 * last commit. The writer uses HDF5 SWMR (single writer, multiple readers),
 * whose ordered metadata flushes keep the file consistent on disk.
 *
 * Units: eV, eV/atom, Å, s. Not thread-safe. The library has no MPI calls;
 * it uses HDF5's default (sec2) file driver. */
#ifndef FUSE2_STORE_H
#define FUSE2_STORE_H

#include <stdint.h>

#include "fuse2/error.h"
#include "fuse2/structure.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    FUSE2_STORE_SCHEMA_VERSION = 1,
    FUSE2_STORE_REASON_LEN = 256,   /* longer reasons are cut (room for a kept scratch path) */
    FUSE2_STORE_NAME_LEN = 32,
    FUSE2_STORE_HOSTS_LEN = 256,
    FUSE2_STORE_SOURCE_LEN = 128    /* pool entry file names */
};

/* One evaluated structure (/structures/records). The values of origin and
 * status are those of fuse2_record_origin and fuse2_record_status
 * (fuse2/search.h): origin 0 generator, 1 ML pool, 2 basin-hopping trial;
 * status 0 converged, 1 not_converged, 2 failed. */
typedef struct fuse2_store_structure_row {
    int64_t id;                 /* row index, set by the append */
    int64_t atom_offset;        /* first atom in species/positions, set by the append */
    int32_t natoms;             /* set by the append */
    int32_t origin;
    int32_t walker;             /* -1 for the initial population */
    int32_t step;               /* walker step, or initial-population member index */
    int32_t trial;              /* index within the step (0 for members) */
    int32_t move;               /* 1..14, 0 for members */
    int32_t status;
    int32_t relax_steps;
    int32_t rank;               /* MPI rank that relaxed it (informational) */
    int32_t spacegroup;         /* of the relaxed structure, 0 if unknown */
    int32_t pool_entry;         /* ML-pool entry it was built from (member from the
                                   pool, or move 14 taking one), -1 if none */
    double energy;              /* eV, total */
    double energy_per_atom;     /* eV/atom (quantised); failed: the score */
    double score;               /* eV/atom used for acceptance */
    double wall_seconds;        /* of the evaluation */
    double cell[3][3];          /* Å, relaxed lattice vectors as rows */
    double start_cell[3][3];    /* Å, the input before the rattle */
    char reason[FUSE2_STORE_REASON_LEN];
    char calculator[FUSE2_STORE_NAME_LEN];
} fuse2_store_structure_row;

/* One decided walker step and the walker's state after it (/steps/records).
 * Trial k of the step is structure row first_structure + k. */
typedef struct fuse2_store_step_row {
    int64_t first_structure;
    int64_t current_id;         /* structure row of the walker's current record */
    int64_t best_id;            /* structure row of the walker's own best */
    int32_t walker;
    int32_t step;               /* the step decided (0-based) */
    int32_t ntrials;
    int32_t best_trial;
    int32_t move;               /* move of the best trial */
    int32_t accepted;
    int32_t downhill;
    int32_t new_minimum;
    int32_t melted;             /* after the step */
    int32_t stopped;            /* fuse2_walker_stop after the step */
    int32_t r, ca;              /* counters after the step */
    int32_t relaxations;        /* trials relaxed by the walker so far */
    int32_t pool_used;          /* ML-pool entries dealt to the walker that it has
                                   used so far (§17.4) */
    double score_before;        /* eV/atom, current before the step */
    double score_trial;         /* eV/atom, the best trial */
    double current_score;       /* eV/atom, after the step */
    double best_score;          /* eV/atom, walker's best after the step */
    double T, T0;               /* eV/atom, after the step */
    double elapsed;             /* s since the campaign began (timing only) */
} fuse2_store_step_row;

/* One stage of a tiered relaxation (/structures/stages), written with its
 * structure row; stages of one structure are consecutive, in stage order. */
typedef struct fuse2_store_stage_row {
    int64_t structure;          /* row of /structures/records */
    int32_t stage;              /* 0-based */
    int32_t status;             /* fuse2_relax_status: 0 converged, 1 not converged,
                                   2 failed, 3 timed out */
    int32_t steps;
    double energy;              /* eV, total, at the end of the stage (NaN if none) */
    double wall_seconds;
    char calculator[FUSE2_STORE_NAME_LEN];
    char reason[FUSE2_STORE_REASON_LEN];
} fuse2_store_stage_row;

/* One commit (/checkpoints/records): the table lengths it commits. */
typedef struct fuse2_store_checkpoint_row {
    int64_t n_structures;
    int64_t n_atoms;
    int64_t n_steps;
    int64_t n_stages;
    int32_t run;                /* provenance row of the invocation */
    int32_t finished;           /* 1: the campaign has ended */
    double unix_time;
    double elapsed;             /* s since the campaign began */
} fuse2_store_checkpoint_row;

/* One invocation (/provenance/runs). */
typedef struct fuse2_store_run_row {
    char version[FUSE2_STORE_NAME_LEN];
    char git_hash[FUSE2_STORE_NAME_LEN];
    char status[FUSE2_STORE_NAME_LEN];  /* running, finished, signal, stop_file, error */
    char hosts[FUSE2_STORE_HOSTS_LEN];  /* distinct host names, comma-separated */
    char composition[2 * FUSE2_STORE_NAME_LEN]; /* as in the config, e.g. "SrTiO3" */
    int64_t seed;               /* the config's seed (bit pattern of the uint64) */
    int32_t walkers;            /* config values in force for this invocation */
    int32_t initial_gen;
    int32_t iterations;         /* total relaxation budget of the campaign */
    int32_t ranks;
    int32_t resumed;            /* 1: continued an existing file */
    double start_time;          /* unix seconds */
    double stop_time;           /* unix seconds, 0 while running */
    int64_t structures_at_start;
} fuse2_store_run_row;

/* One ML-pool entry (/pool/records); its atoms are entries atom_offset ..
 * atom_offset + natoms - 1 of /pool/species and /pool/positions. */
typedef struct fuse2_store_pool_row {
    int64_t atom_offset;
    int32_t index;              /* entry index = row number, the pool's order */
    int32_t natoms;
    double rank_energy;         /* eV/atom from the pool's ranking, NaN if unranked */
    double cell[3][3];          /* Å, lattice vectors as rows */
    char source[FUSE2_STORE_SOURCE_LEN]; /* where it came from, e.g. the CIF file name */
} fuse2_store_pool_row;

typedef struct fuse2_store_counts {
    int64_t n_structures, n_atoms, n_steps, n_checkpoints, n_runs, n_stages;
} fuse2_store_counts;

typedef struct fuse2_store fuse2_store;

/* ---- writing (one process) ---- */

/* Creates a new campaign file (error if `path` exists) holding the config
 * texts, and starts SWMR writing. */
fuse2_status fuse2_store_create(const char *path, const char *config_yaml, const char *resolved_yaml,
                                fuse2_store **out);
/* The same, storing the ML pool too: npool structures with their sources
 * and ranking energies (eV/atom, NaN if none; NULL = all NaN). The pool is
 * part of the file from its creation on and never changes. */
fuse2_status fuse2_store_create_with_pool(const char *path, const char *config_yaml,
                                          const char *resolved_yaml, int npool,
                                          const fuse2_structure *structures,
                                          const char (*sources)[FUSE2_STORE_SOURCE_LEN],
                                          const double *rank_energy, fuse2_store **out);
/* Opens an existing campaign file for writing: clears the marks a killed
 * writer leaves (as `h5clear -s` does), discards every row past the last
 * checkpoint, starts SWMR writing, and returns the committed lengths. */
fuse2_status fuse2_store_open_resume(const char *path, fuse2_store **out, fuse2_store_counts *committed);

/* Appends the provenance row of this invocation and flushes it; *run is its
 * index. A start_time of 0 is replaced by the current time. */
fuse2_status fuse2_store_begin_run(fuse2_store *st, const fuse2_store_run_row *row, int32_t *run);
/* Rewrites row `run` (stop time, status) and flushes. */
fuse2_status fuse2_store_update_run(fuse2_store *st, int32_t run, const fuse2_store_run_row *row);

/* Buffers one structure row with its relaxed and start structures (same
 * natoms and species order); fills row->id, atom_offset and natoms, and
 * sets row->cell and row->start_cell to the two structures' lattices. */
fuse2_status fuse2_store_append_structure(fuse2_store *st, fuse2_store_structure_row *row,
                                          const fuse2_structure *relaxed,
                                          const fuse2_structure *start);
fuse2_status fuse2_store_append_step(fuse2_store *st, const fuse2_store_step_row *row);
/* Buffers one stage row (after its structure row, whose id it names). */
fuse2_status fuse2_store_append_stage(fuse2_store *st, const fuse2_store_stage_row *row);
/* Writes the buffered rows and flushes them (readers see them). */
fuse2_status fuse2_store_flush(fuse2_store *st);
/* Flushes, then commits: appends a checkpoint row with the current lengths
 * (row->n_* are filled in; unix_time too if it is 0) and flushes again. */
fuse2_status fuse2_store_checkpoint(fuse2_store *st, fuse2_store_checkpoint_row *row);
/* Closes (flushing buffered rows but not committing them); NULL is fine. */
fuse2_status fuse2_store_close(fuse2_store *st);

/* ---- reading (also while another process writes) ---- */

/* Opens read-only with SWMR reading, so it works while a writer runs. */
fuse2_status fuse2_store_open_read(const char *path, fuse2_store **out);
/* Re-reads the lengths a live writer has flushed since (readers only). */
fuse2_status fuse2_store_refresh(fuse2_store *st);
/* Lengths of the tables as written (for a writer: including buffered rows;
 * committed lengths are in the last checkpoint row). */
fuse2_status fuse2_store_counts_get(fuse2_store *st, fuse2_store_counts *c);

fuse2_status fuse2_store_read_structure_rows(fuse2_store *st, int64_t first, int64_t n,
                                             fuse2_store_structure_row *rows);
/* The relaxed (start = 0) or start (start = 1) structure of a row. `out`
 * must be initialised or zeroed; it is replaced. */
fuse2_status fuse2_store_read_structure(fuse2_store *st, const fuse2_store_structure_row *row,
                                        int start, fuse2_structure *out);
fuse2_status fuse2_store_read_step_rows(fuse2_store *st, int64_t first, int64_t n,
                                        fuse2_store_step_row *rows);
fuse2_status fuse2_store_read_stage_rows(fuse2_store *st, int64_t first, int64_t n,
                                         fuse2_store_stage_row *rows);
fuse2_status fuse2_store_read_checkpoints(fuse2_store *st, int64_t first, int64_t n,
                                          fuse2_store_checkpoint_row *rows);
fuse2_status fuse2_store_read_runs(fuse2_store *st, int64_t first, int64_t n, fuse2_store_run_row *rows);
/* Entries of the ML pool (0 for a file without /pool). */
fuse2_status fuse2_store_pool_count(fuse2_store *st, int64_t *n);
fuse2_status fuse2_store_read_pool_rows(fuse2_store *st, int64_t first, int64_t n,
                                        fuse2_store_pool_row *rows);
/* The structure of a pool row; `out` initialised or zeroed, replaced. */
fuse2_status fuse2_store_read_pool_structure(fuse2_store *st, const fuse2_store_pool_row *row,
                                             fuse2_structure *out);
/* The config text (resolved = 0: as given; 1: resolved); *text is malloc'ed. */
fuse2_status fuse2_store_read_config(fuse2_store *st, int resolved, char **text);

#ifdef __cplusplus
}
#endif
#endif
