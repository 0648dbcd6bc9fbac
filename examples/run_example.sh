#!/usr/bin/env bash
# Example for the README: relax a distorted SrTiO3 cell with the built-in
# calculator, then run a small FUSE2 search (campaign.yaml) that finds the
# cubic perovskite from generated structures.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../build}"
fuse2="$build/fuse2"
out="$here/out"
mkdir -p "$out"
cd "$here/srtio3"
echo "== space group of the start structure"
"$fuse2" symmetry SrTiO3-rattled.cif --tolerance 0.01
echo "== energy of the start structure"
"$fuse2" energy SrTiO3-rattled.cif --library SrTiO3-buck.lib --c6
echo "== relaxation (positions and cell, L-BFGS)"
"$fuse2" relax SrTiO3-rattled.cif --library SrTiO3-buck.lib --c6 --fmax 1e-4 --smax 1e-6 \
    -o "$out/SrTiO3-relaxed.cif"
echo "== space group of the relaxed structure"
"$fuse2" symmetry "$out/SrTiO3-relaxed.cif" --tolerance 0.001
echo "(cubic perovskite with this model: about -31.7167 eV/atom, Pm-3m)"
echo "== FUSE2 search: 10 generated structures, then 2 basin-hopping walkers, 60 relaxations"
"$build/fuse2" check campaign.yaml > /dev/null
# a fresh campaign each time (running the command again would resume the file)
rm -rf "$out/srtio3-campaign"
mpirun -n 3 --bind-to none "$build/fuse2-mpi" campaign.yaml
echo "== running it again resumes the campaign file: it is finished, nothing to do"
mpirun -n 2 --bind-to none "$build/fuse2-mpi" campaign.yaml | tail -1
echo "== what the campaign file holds"
"$fuse2" inspect "$out/srtio3-campaign/campaign.h5" --plot "$out/srtio3-campaign/energy.png"
echo "== the three best structures as CIF"
"$fuse2" export "$out/srtio3-campaign/campaign.h5" --best 3 --format cif -o "$out/srtio3-campaign/best"
echo "== best structure found by the search"
"$fuse2" symmetry "$out/srtio3-campaign/best.cif" --tolerance 0.01
"$fuse2" energy "$out/srtio3-campaign/best.cif" --library SrTiO3-buck.lib --c6 | grep "per atom"
echo "(plot: $out/srtio3-campaign/energy.png)"
