#!/usr/bin/env bash
# fuse2-mpi set-up on Debian 12: installs the Debian packages the project
# needs (only those missing, so it is idempotent), configures and builds, then
# runs what was asked for.
#
#   bash tools/setup.sh example   # deps + build + run the example
#   bash tools/setup.sh test      # deps + build + the whole ctest suite
#   bash tools/setup.sh deps      # packages only
#   bash tools/setup.sh build     # deps + build only
#
# Environment: BUILD_DIR (default build), FUSE2_SANITIZE=ON for an
# AddressSanitizer/UBSan build, FUSE2_SHARED_DIR (default ../shared),
# CTEST_ARGS (extra ctest arguments, e.g. "-LE slow").
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$here/build}"
jobs="$(nproc 2>/dev/null || echo 2)"

packages=(
  gcc make cmake pkg-config git ca-certificates procps
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev hdf5-tools
  libsymspg-dev
  libopenblas-dev liblapacke-dev libscalapack-openmpi-dev
  libyaml-dev libcmocka-dev libcairo2-dev libfontconfig-dev
  lammps quantum-espresso quantum-espresso-data
  python3-numpy python3-h5py
)

install_deps() {
  local missing=()
  for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all Debian packages present"
    return
  fi
  echo "setup: installing ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
  local extra=()
  if [ -n "${FUSE2_SHARED_DIR:-}" ]; then extra+=("-DFUSE2_SHARED_DIR=$FUSE2_SHARED_DIR"); fi
  cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" \
        -DFUSE2_WERROR=ON -DFUSE2_SANITIZE="${FUSE2_SANITIZE:-OFF}" "${extra[@]}"
  cmake --build "$build_dir" -j "$jobs"
}

# Open MPI refuses root without these; CI runs as root on 2 cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

case "${1:-all}" in
  deps) install_deps ;;
  build) install_deps; build ;;
  test)
    install_deps
    build
    cd "$build_dir"
    # shellcheck disable=SC2086
    ctest --output-on-failure -j "$jobs" ${CTEST_ARGS:-}
    ;;
  example|all)
    install_deps
    build
    bash "$here/examples/run_example.sh" "$build_dir"
    ;;
  *) echo "usage: $0 example|test|deps|build" >&2; exit 2 ;;
esac
