#!/usr/bin/python3
"""One line of numbers for one scaling run of fuse2-mpi, read from its campaign
file with h5py (the schema of docs/campaign-file.md, not our code).

usage: analyze.py CAMPAIGN.h5 RANKS COST WALL_SECONDS RANK0_CPU_SECONDS

Definitions (benchmarks/scaling/README.md):
  workers      W = ranks - 1 (rank 0 does not relax when ranks >= 2), 1 for one rank
  T_search     elapsed of the last step record: from the controller opening the
               campaign file to the decision of the last relaxation's step
  efficiency   (N * cost / W) / T_search, N = relaxations (the nominal cost of
               every relaxation, fixed distribution)
  busy         (sum of the records' wall_seconds / W) / T_search: the measured
               time workers spent evaluating (cost + model + moves + symmetry)
  overhead     W * T_search / N - cost: worker time per task not spent in
               the relaxation's cost (s)
  steps/s      step records / T_search
  rank0 us/task rank 0's CPU (user + sys of the whole process) / tasks
  rank0 max    step records / rank 0's CPU seconds: the rate rank 0 could
               sustain on a core of its own (its idle naps use no CPU)
Prints tab-separated values in the order of HEADER.
"""
import sys

import h5py
import numpy as np

HEADER = ("ranks workers cost relaxations steps T_search wall efficiency busy "
          "overhead_ms steps_per_s rank0_cpu rank0_us_per_task rank0_max_steps_per_s").split()


def main(argv):
    if len(argv) == 2 and argv[1] == "--header":
        print("\t".join(HEADER))
        return 0
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    path, ranks, cost, wall, cpu0 = argv[1], int(argv[2]), float(argv[3]), float(argv[4]), float(argv[5])
    workers = max(ranks - 1, 1)
    with h5py.File(path, "r") as f:
        structures = f["structures/records"][...]
        steps = f["steps/records"][...]
    n = len(structures)
    nsteps = len(steps)
    t_search = float(np.max(steps["elapsed"])) if nsteps else float("nan")
    busy_sum = float(np.sum(structures["wall_seconds"]))
    tasks = n  # search_gen_bh = 1: one relaxation per task
    row = [
        ranks, workers, cost, n, nsteps, t_search, wall,
        n * cost / workers / t_search if cost > 0 else float("nan"),
        busy_sum / workers / t_search,
        1e3 * (workers * t_search / n - cost),
        nsteps / t_search,
        cpu0,
        1e6 * cpu0 / tasks if tasks else float("nan"),
        nsteps / cpu0 if cpu0 > 0 else float("nan"),
    ]
    print("\t".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
