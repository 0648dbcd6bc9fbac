#!/usr/bin/env bash
# Builds bench_builtin and runs the fuse2 built-in calculator vs LAMMPS
# benchmark (benchmarks/README.md). Extra arguments go to bench_builtin
# (e.g. --sizes 5,50 --min-time 2 --workdir /tmp/bench-logs; --help lists them).
#
# Environment:
#   FUSE2_BENCH_BUILD   build directory (default <repo>/build-bench, -O2 -g)
#   FUSE2_SHARED_DIR    shared data tree (default <repo>/../shared)
#   FUSE2_BENCH_LIBRARY GULP library (default $FUSE2_SHARED_DIR/potentials/lib2.lib)
#   LMP                 LAMMPS executable (default lmp)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=${FUSE2_BENCH_BUILD:-$root/build-bench}
shared=${FUSE2_SHARED_DIR:-$root/../shared}
library=${FUSE2_BENCH_LIBRARY:-$shared/potentials/lib2.lib}
lmp=${LMP:-lmp}

if ! command -v "$lmp" >/dev/null 2>&1; then
    echo "run_builtin_vs_lammps.sh: LAMMPS executable '$lmp' not found" \
         "(apt-get install --no-install-recommends lammps, or set LMP)" >&2
    exit 1
fi
if [ ! -r "$library" ]; then
    echo "run_builtin_vs_lammps.sh: cannot read the potential library $library" >&2
    exit 1
fi

# RelWithDebInfo is the project's optimised build (-O2 -g); no tests needed.
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFUSE2_WERROR=OFF \
      -DBUILD_TESTING=OFF >/dev/null
if grep -Eq '^[[:space:]]*add_subdirectory\(benchmarks\)' "$root/CMakeLists.txt"; then
    cmake --build "$build" --target bench_builtin -j2 >/dev/null
    bench=$build/benchmarks/bench_builtin
else
    # not hooked into the top-level CMakeLists.txt yet: link against libfuse2.a
    cmake --build "$build" --target fuse2 -j2 >/dev/null
    bench=$build/bench_builtin
    # shellcheck disable=SC2046
    "${CC:-cc}" -std=c17 -O2 -g -Wall -Wextra -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
        -I"$root/include" "$here/bench_builtin.c" "$build/libfuse2.a" \
        $(pkg-config --libs spglib yaml-0.1 lapacke openblas) -lm -o "$bench"
fi

lmp_version=$("$lmp" -h 2>/dev/null |
              sed -n 's/^Large-scale Atomic.Molecular Massively Parallel Simulator - //p' | head -1)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs (${cpu:-unknown CPU}),"\
     "fuse2 $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown), LAMMPS $lmp_version"
# one thread each: OpenBLAS (used by spglib/LAPACK paths) and LAMMPS' OpenMP
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
exec "$bench" --library "$library" --lmp "$lmp" "$@"
