/* fuse2-mpi message protocol between rank 0 (controller) and the worker
 * ranks. All messages are on MPI_COMM_WORLD; bodies are packed byte
 * buffers (MPI_BYTE) in the layout below, native byte order (all ranks of
 * one job share it). Rank 0 never blocks on one worker: it polls with
 * MPI_Iprobe (MPI_ANY_SOURCE) and receives what has arrived; idle ranks poll
 * with a short sleep instead of spinning in a blocking receive
 * (toolchain.md).
 *
 *   tag         direction        body
 *   TASK        0 -> worker      task: i32 kind, walker, step, ntrials,
 *                                melted, npool, current_move;
 *                                structure current,
 *                                current_start; npool structures
 *   RESULT      worker -> 0      i32 kind, walker, step, ntrials,
 *                                pool_used, rank; per trial: record
 *                                (i32 status, walker, step, trial, move,
 *                                origin, relax_steps, spacegroup,
 *                                pool_slot; f64
 *                                energy, energy_per_atom, score,
 *                                wall_seconds; i32 reason length + bytes;
 *                                i32 nstages, per stage: calculator text,
 *                                i32 status, steps, f64 energy, wall_seconds,
 *                                reason text;
 *                                structure start, structure relaxed)
 *   ERROR       worker -> 0      i32 kind, walker, step; the error text:
 *                                a task that cannot be executed (not a
 *                                failed relaxation, which is a RESULT)
 *   STOP        0 -> worker      empty: finish (drop a running task) and
 *                                leave the worker loop
 *
 * structure: i32 natoms; f64 lattice[9]; f64 frac[3 natoms]; i32 Z[natoms].
 *
 * A worker gets at most one task at a time; when rank 0 stops (end,
 * signal, stop file) it sends STOP to every worker, and a worker busy with
 * a relaxation notices it through the relaxation's interrupt hook and
 * drops the task (it is rerun on restart). */
#ifndef FUSE2_MPI_PROTOCOL_H
#define FUSE2_MPI_PROTOCOL_H

#include <stddef.h>

#include "fuse2/controller.h"
#include "fuse2/error.h"

enum fuse2_mpi_tag {
    FUSE2_TAG_TASK = 101,
    FUSE2_TAG_RESULT = 102,
    FUSE2_TAG_ERROR = 103,
    FUSE2_TAG_STOP = 104
};

/* A growable byte buffer for message bodies. */
typedef struct fuse2_buffer {
    unsigned char *data;
    size_t size, capacity;
    size_t read;                /* read position */
} fuse2_buffer;

void fuse2_buffer_free(fuse2_buffer *b);
/* Makes room for `size` bytes and sets b->size = size, read = 0 (for receiving). */
fuse2_status fuse2_buffer_resize(fuse2_buffer *b, size_t size);

fuse2_status fuse2_pack_task(fuse2_buffer *b, const fuse2_task *t);
/* t must be initialised; its structures are replaced. */
fuse2_status fuse2_unpack_task(fuse2_buffer *b, fuse2_task *t);
fuse2_status fuse2_pack_result(fuse2_buffer *b, const fuse2_task_result *r);
/* r from fuse2_task_result_create; its records are replaced. */
fuse2_status fuse2_unpack_result(fuse2_buffer *b, fuse2_task_result *r);
fuse2_status fuse2_pack_error(fuse2_buffer *b, const fuse2_task *t, const char *message);
fuse2_status fuse2_unpack_error(fuse2_buffer *b, int *kind, int *walker, int *step, char *message,
                                size_t size);

#endif
