#!/bin/bash
# Scaling benchmark of the fuse2-mpi controller with the synthetic calculator
# (relaxations that only sleep for a fixed cost): parallel efficiency at 2..64
# ranks, and rank 0's maximum throughput in step records/s with cost 0.
# Definitions and the extrapolation model: benchmarks/scaling/README.md.
#
#   benchmarks/scaling/run_scaling.sh                      # about 8 minutes
#   benchmarks/scaling/run_scaling.sh --ranks "2 8" --costs 1 --duration 10
#   benchmarks/scaling/run_scaling.sh --help
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${FUSE2_SCALING_BUILD:-$root/build-scaling}
out=""
ranks_list="2 4 8 16 32 64"
costs="1 0.2"
duration=30
throughput_ranks="16 32 64"
throughput_relaxations=8000
controller_tasks=10000
do_build=1

usage() {
    cat <<EOF
usage: run_scaling.sh [options]
  --build DIR            build directory (default \$FUSE2_SCALING_BUILD or $root/build-scaling)
  --no-build             use the programs already in the build directory
  --out DIR              run directories and results (default BUILD/scaling-runs)
  --ranks "LIST"         rank counts of the efficiency runs (default "$ranks_list")
  --costs "LIST"         fixed relaxation costs in s (default "$costs")
  --duration S           ideal length of one efficiency run in s (default $duration)
  --throughput-ranks "LIST"  rank counts of the cost-0 runs (default "$throughput_ranks")
  --throughput-relaxations N relaxations per cost-0 run (default $throughput_relaxations)
  --controller-tasks N   tasks of the in-process rank-0 measurement, bench_controller
                         (default $controller_tasks; 0 = skip)
Writes OUT/results.tsv (one line per run), OUT/controller.txt (bench_controller)
and OUT/results.md (tables).
Runs with mpirun --oversubscribe; needs /usr/bin/python3 with h5py and numpy.
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --out) out=$2; shift 2 ;;
    --ranks) ranks_list=$2; shift 2 ;;
    --costs) costs=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --throughput-ranks) throughput_ranks=$2; shift 2 ;;
    --throughput-relaxations) throughput_relaxations=$2; shift 2 ;;
    --controller-tasks) controller_tasks=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run_scaling.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
out=${out:-$build/scaling-runs}
python=/usr/bin/python3

if [ "$do_build" = 1 ]; then
    # the project's optimised build; no tests needed
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFUSE2_WERROR=OFF \
        -DBUILD_TESTING=OFF >/dev/null || exit 1
    cmake --build "$build" --target fuse2-mpi fuse2-cli -j2 >/dev/null || exit 1
fi
fuse2_mpi=$build/fuse2-mpi
for p in "$fuse2_mpi" "$python"; do
    [ -x "$p" ] || { echo "run_scaling.sh: $p not found" >&2; exit 1; }
done
"$python" -c "import h5py, numpy" || { echo "run_scaling.sh: $python needs h5py and numpy" >&2; exit 1; }

mkdir -p "$out"
mpirun_args=(--oversubscribe -x OMP_NUM_THREADS=1 -x OPENBLAS_NUM_THREADS=1)
if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

# rank 0 runs fuse2-mpi under a shell that records its CPU time (`times`:
# user and system seconds of the finished child)
wrapper=$out/rank0-cpu.sh
cat >"$wrapper" <<'EOF'
#!/bin/bash
"$@"
rc=$?
if [ "${OMPI_COMM_WORLD_RANK:-0}" = 0 ]; then times >rank0.times; fi
exit $rc
EOF
chmod +x "$wrapper"
seconds_of() { # "1m2.500s" -> 62.5
    awk -v t="$1" 'BEGIN { split(t, a, "m"); sub("s", "", a[2]); printf "%.3f\n", a[1] * 60 + a[2] }'
}
rank0_cpu() { # dir -> user + sys of the child line of `times`
    local line u s
    line=$(sed -n 2p "$1/rank0.times")
    u=$(seconds_of "${line%% *}")
    s=$(seconds_of "${line##* }")
    awk -v u="$u" -v s="$s" 'BEGIN { printf "%.3f\n", u + s }'
}

write_campaign() { # dir, walkers, iterations, cost
    cat >"$1/campaign.yaml" <<EOF
# fuse2-mpi scaling benchmark (benchmarks/scaling/run_scaling.sh)
composition: {Sr: 1, Ti: 1, O: 3}
max_atoms: 20
imax_atoms: 10
seed: 20260101
initial_gen: $2
walkers: $2
iterations: $3
search_gen_bh: 1
write_all_structures: false
calculator:
  name: synthetic
  cost_distribution: fixed
  cost_mean: $4
EOF
}

results=$out/results.tsv
"$python" "$here/analyze.py" --header | sed 's/^/kind\t/' >"$results"

run_one() { # kind, ranks, cost, iterations
    local kind=$1 ranks=$2 cost=$3 iterations=$4
    local workers=$((ranks > 1 ? ranks - 1 : 1))
    local dir=$out/$kind-cost$cost-ranks$ranks
    rm -rf "$dir"
    mkdir -p "$dir"
    write_campaign "$dir" $((2 * workers)) "$iterations" "$cost"
    local t0 t1 rc
    t0=$(date +%s.%N)
    (cd "$dir" && mpirun "${mpirun_args[@]}" -n "$ranks" "$wrapper" "$fuse2_mpi" campaign.yaml >run.log 2>&1)
    rc=$?
    t1=$(date +%s.%N)
    if [ "$rc" -ne 0 ]; then
        echo "run_scaling.sh: fuse2-mpi failed in $dir (exit $rc):" >&2
        tail -n 5 "$dir/run.log" >&2
        return 1
    fi
    local wall line
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }')
    line=$("$python" "$here/analyze.py" "$dir/campaign.h5" "$ranks" "$cost" "$wall" "$(rank0_cpu "$dir")") || return 1
    printf '%s\t%s\n' "$kind" "$line" | tee -a "$results"
}

echo "== efficiency runs (fixed cost, walkers = initial_gen = 2 x workers, ~$duration s each)"
for cost in $costs; do
    for ranks in $ranks_list; do
        workers=$((ranks > 1 ? ranks - 1 : 1))
        iterations=$(awk -v d="$duration" -v w="$workers" -v c="$cost" 'BEGIN { printf "%d\n", d * w / c + 0.5 }')
        min=$((4 * workers))
        [ "$iterations" -lt "$min" ] && iterations=$min
        run_one efficiency "$ranks" "$cost" "$iterations" || exit 1
    done
done
echo "== rank 0 throughput runs (cost 0, $throughput_relaxations relaxations)"
for ranks in $throughput_ranks; do
    run_one throughput "$ranks" 0 "$throughput_relaxations" || exit 1
done

controller_txt=$out/controller.txt
rm -f "$controller_txt"
if [ "$controller_tasks" -gt 0 ]; then
    echo "== rank 0's work per task in one process (bench_controller, cost 0, $controller_tasks tasks)"
    # linked like fuse2-mpi (same libraries), with the message packing of mpi/protocol.c
    link=$build/CMakeFiles/fuse2-mpi.dir/link.txt
    [ -r "$link" ] || { echo "run_scaling.sh: $link not found" >&2; exit 1; }
    libs=$(sed -n 's/.* -o fuse2-mpi //p' "$link")
    # shellcheck disable=SC2086 # the library list from CMake
    (cd "$build" && "${CC:-cc}" -std=c17 -O2 -g -Wall -Wextra -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
        -I"$root/include" -I"$root/mpi" -isystem /usr/include/hdf5/openmpi \
        -isystem /usr/lib/x86_64-linux-gnu/openmpi/include \
        "$here/bench_controller.c" "$root/mpi/protocol.c" $libs -o bench_controller) || exit 1
    dir=$out/controller
    rm -rf "$dir"
    mkdir -p "$dir"
    write_campaign "$dir" 128 "$controller_tasks" 0
    (cd "$dir" && "$build/bench_controller" campaign.yaml) | tee "$controller_txt" || exit 1
fi

"$python" - "$results" "$controller_txt" >"$out/results.md" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
def f(x, d=3):
    return f"{float(x):.{d}f}"
print("## Parallel efficiency (fixed cost)\n")
print("| cost (s) | ranks | workers | relaxations | T_search (s) | efficiency | busy | overhead/task (ms) | rank 0 CPU (s) |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    if r["kind"] != "efficiency":
        continue
    print(f"| {r['cost']} | {r['ranks']} | {r['workers']} | {r['relaxations']} | {f(r['T_search'], 2)} | "
          f"{100 * float(r['efficiency']):.1f} % | {100 * float(r['busy']):.1f} % | {f(r['overhead_ms'], 1)} | {f(r['rank0_cpu'], 2)} |")
print("\n## Rank 0 throughput (cost 0)\n")
print("| ranks | step records | T_search (s) | step records/s (wall) | rank 0 CPU (s) | rank 0 µs/task | rank 0 max step records/s |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    if r["kind"] != "throughput":
        continue
    print(f"| {r['ranks']} | {r['steps']} | {f(r['T_search'], 2)} | {float(r['steps_per_s']):.0f} | "
          f"{f(r['rank0_cpu'], 2)} | {float(r['rank0_us_per_task']):.1f} | {float(r['rank0_max_steps_per_s']):.0f} |")
try:
    c = dict(line.split() for line in open(sys.argv[2]) if line.strip())
except OSError:
    c = None
if c:
    print("\n## Rank 0's work per task in one process (bench_controller, cost 0)\n")
    print("| tasks | step records | rank 0 s | rank 0 µs/task | rank 0 max step records/s | worker-side ms/task |")
    print("|---|---|---|---|---|---|")
    print(f"| {c['tasks']} | {c['step_records']} | {float(c['rank0_seconds']):.3f} | "
          f"{float(c['rank0_us_per_task']):.1f} | {float(c['rank0_max_step_records_per_s']):.0f} | "
          f"{1e3 * float(c['worker_seconds']) / float(c['tasks']):.2f} |")
EOF
echo
cat "$out/results.md"
echo
echo "results: $results, $out/results.md"
