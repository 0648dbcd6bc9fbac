/* Rank 0's work per task, measured in one process: the controller of
 * fuse2/controller.h and a worker in a loop, as fuse2-mpi runs them, with
 * only rank 0's side timed: next_task, packing the task message,
 * unpacking the result message, complete and poll (flushes, checkpoints).
 * The worker's side (unpacking the task, building and relaxing the
 * structure, packing the result) is not timed. MPI itself is not involved:
 * the message buffers are what rank 0 would send and receive.
 *
 * Up to `walkers` tasks are in flight (as with many idle workers), and
 * results come back in the order the tasks went out.
 *
 *   bench_controller campaign.yaml
 *
 * Prints tasks, step records, the timed seconds, us/task and the implied
 * maximum rate of step records/s on a core of rank 0's own, and the time of
 * the final close (commit, steps.csv, best CIFs) separately. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuse2/config.h"
#include "fuse2/controller.h"
#include "fuse2/error.h"
#include "protocol.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define CHECK(expr)                                                                  \
    do {                                                                             \
        if ((expr) != FUSE2_OK) {                                                    \
            fprintf(stderr, "bench_controller: %s\n", fuse2_error_message());        \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_controller campaign.yaml\n");
        return 2;
    }
    fuse2_config cfg;
    CHECK(fuse2_config_load(argv[1], &cfg));
    fuse2_worker *worker;
    CHECK(fuse2_worker_create(&cfg, &worker));
    fuse2_controller_options opt = {.ranks = cfg.walkers + 1, .hosts = "bench"};
    fuse2_controller *ctl;
    double t_open = now();
    CHECK(fuse2_controller_open(&cfg, &opt, &ctl));
    double open_seconds = now() - t_open;

    /* a ring of packed task messages in flight */
    const int capacity = cfg.walkers > cfg.initial_gen ? cfg.walkers : cfg.initial_gen;
    fuse2_buffer *queue = calloc((size_t)capacity, sizeof *queue);
    fuse2_buffer result_msg = {0};
    fuse2_task task, wtask;
    CHECK(fuse2_task_init(&task));
    CHECK(fuse2_task_init(&wtask));
    fuse2_task_result *res, *res0;
    CHECK(fuse2_task_result_create(&res));
    CHECK(fuse2_task_result_create(&res0));
    if (!queue) return 1;
    int head = 0, count = 0;
    long tasks = 0;
    double rank0 = 0, worker_side = 0;
    for (;;) {
        double t0 = now();
        CHECK(fuse2_controller_poll(ctl));
        int have = 1;
        while (count < capacity && !fuse2_controller_done(ctl)) {
            CHECK(fuse2_controller_next_task(ctl, &task, &have));
            if (!have) break;
            fuse2_buffer *b = &queue[(head + count) % capacity];
            b->size = 0;
            b->read = 0;
            CHECK(fuse2_pack_task(b, &task));
            count++;
        }
        rank0 += now() - t0;
        if (count == 0) break; /* nothing in flight and nothing to hand out: done */

        double t1 = now();
        fuse2_buffer *b = &queue[head];
        b->read = 0;
        CHECK(fuse2_unpack_task(b, &wtask));
        int interrupted = 0;
        CHECK(fuse2_worker_execute(worker, &wtask, res0, &interrupted));
        res0->rank = 1;
        result_msg.size = 0;
        result_msg.read = 0;
        CHECK(fuse2_pack_result(&result_msg, res0));
        head = (head + 1) % capacity;
        count--;
        double t2 = now();
        worker_side += t2 - t1;

        result_msg.read = 0;
        CHECK(fuse2_unpack_result(&result_msg, res));
        CHECK(fuse2_controller_complete(ctl, res));
        tasks++;
        rank0 += now() - t2;
    }
    fuse2_campaign_summary sum;
    double t_close = now();
    CHECK(fuse2_controller_close(ctl, &sum));
    double close_seconds = now() - t_close;
    printf("tasks %ld\nstep_records %d\nrelaxations %d\nrank0_seconds %.6f\nworker_seconds %.6f\n"
           "rank0_us_per_task %.3f\nrank0_max_step_records_per_s %.0f\nopen_seconds %.4f\n"
           "close_seconds %.4f\n",
           tasks, sum.steps, sum.relaxations, rank0, worker_side, 1e6 * rank0 / (double)tasks,
           (double)sum.steps / rank0, open_seconds, close_seconds);

    for (int i = 0; i < capacity; i++) fuse2_buffer_free(&queue[i]);
    free(queue);
    fuse2_buffer_free(&result_msg);
    fuse2_task_free(&task);
    fuse2_task_free(&wtask);
    fuse2_task_result_destroy(res);
    fuse2_task_result_destroy(res0);
    fuse2_worker_destroy(worker);
    fuse2_config_free(&cfg);
    return 0;
}
