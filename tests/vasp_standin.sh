#!/bin/sh
# TEST-ONLY STAND-IN FOR VASP. VASP is licensed software and cannot be
# installed here, so tests/test_vasp_driver.c runs this script as the "vasp"
# calculator's command. It computes nothing: it checks the inputs the driver
# wrote, then replays the recorded VASP 5.4.4 run
# ../shared/testdata/vasp/nboc-relax (Nb16C8O8) into the working directory,
# or imitates a failure. Never use it for anything but the tests.
#
# Usage: vasp_standin.sh MODE [DATA_DIR [SAVE_DIR]]
#   MODE      ok              replay the converged run, exit 0
#             unconverged     replay it without "reached required accuracy"
#                             (NSW used up), exit 0
#             zbrent          "ZBRENT: fatal error in bracketing", exit 1
#             pricel_then_ok  without ISYM = 0 in INCAR: the PRICEL error on
#                             stdout, exit 1; with it: as ok
#             edddav_then_ok  without ALGO = Normal in INCAR: "Error EDDDAV:
#                             Call to ZHEGV failed" on stdout, exit 1; with
#                             it: as ok
#             hang            sleep until killed
#             garbage         an OUTCAR that is not one, exit 0
#             nan             replay with NaN final energies, exit 0
#   DATA_DIR  the nboc-relax directory (default
#             $FUSE2_SHARED_DIR/testdata/vasp/nboc-relax)
#   SAVE_DIR  if given, POSCAR INCAR KPOINTS POTCAR are copied there, so the
#             test can read them after the driver removed the scratch directory
set -u
mode=${1:-ok}
data=${2:-${FUSE2_SHARED_DIR:-../shared}/testdata/vasp/nboc-relax}
save=${3:-}
me=vasp_standin.sh

echo " $me: test-only stand-in for VASP, mode $mode"
fail() {
    echo "$me: $*" >&2
    echo "$me: $*"
    exit 1
}

# the inputs every VASP run needs; KPOINTS unless INCAR has KSPACING
for f in POSCAR INCAR POTCAR; do
    [ -s "$f" ] || fail "input file $f is missing or empty in $(pwd)"
done
if ! grep -Eqi '^[[:space:]]*KSPACING[[:space:]]*=' INCAR; then
    [ -s KPOINTS ] || fail "KPOINTS is missing and INCAR has no KSPACING"
fi
[ -d "$data" ] || fail "no recorded run at $data"
if [ -n "$save" ]; then
    mkdir -p "$save" || fail "cannot create $save"
    rm -f "$save/KPOINTS"
    cp POSCAR INCAR POTCAR "$save/" || fail "cannot copy the inputs to $save"
    if [ -f KPOINTS ]; then cp KPOINTS "$save/" || fail "cannot copy KPOINTS to $save"; fi
fi

# squeezed line n of a file
line() { sed -n "${1}p" "$2" | tr -s ' \t' '  ' | sed 's/^ //; s/ $//'; }

replay() {
    # CONTCAR replays atom by atom: the POSCAR must list species and counts
    # as the recorded run did
    [ "$(line 6 POSCAR)" = "$(line 6 "$data/POSCAR")" ] ||
        fail "POSCAR species '$(line 6 POSCAR)', the recorded run has '$(line 6 "$data/POSCAR")'"
    [ "$(line 7 POSCAR)" = "$(line 7 "$data/POSCAR")" ] ||
        fail "POSCAR counts '$(line 7 POSCAR)', the recorded run has '$(line 7 "$data/POSCAR")'"
    gzip -dc "$data/OUTCAR.gz" > OUTCAR || fail "cannot unpack OUTCAR.gz"
    gzip -dc "$data/vasprun.xml.gz" > vasprun.xml || fail "cannot unpack vasprun.xml.gz"
    cp "$data/CONTCAR" "$data/OSZICAR" . || fail "cannot copy CONTCAR, OSZICAR"
    # the shared files are read-only; the copies must be removable
    chmod u+w CONTCAR OSZICAR
    echo "  49 F= -.25388059E+03 E0= -.25379851E+03  d E =-.724273E-03"
    echo " reached required accuracy - stopping structural energy minimisation"
}

case $mode in
ok)
    replay
    exit 0
    ;;
unconverged)
    replay > /dev/null
    sed -i '/reached required accuracy/d' OUTCAR
    exit 0
    ;;
zbrent)
    echo "not a wave function" > WAVECAR # delete_wavecar removes it from the kept directory
    printf ' vasp.5.4.4 (stand-in)\n ZBRENT: fatal error in bracketing\n     please rerun with smaller EDIFF, or copy CONTCAR\n     to POSCAR and continue\n' > OUTCAR
    echo " ZBRENT: fatal error in bracketing"
    exit 1
    ;;
pricel_then_ok)
    if grep -Eq '^[[:space:]]*ISYM[[:space:]]*=[[:space:]]*0[[:space:]]*$' INCAR; then
        replay
        exit 0
    fi
    echo " internal error in subroutine PRICEL (probably precision problem, try to change SYMPREC in INCAR ?):"
    echo "    Sorry, number of cells and number of vectors did not agree."
    exit 1
    ;;
edddav_then_ok)
    if grep -Eqi '^[[:space:]]*ALGO[[:space:]]*=[[:space:]]*Normal[[:space:]]*$' INCAR; then
        replay
        exit 0
    fi
    echo " Error EDDDAV: Call to ZHEGV failed. Returncode =   7 1  16"
    exit 1
    ;;
hang)
    exec sleep 600
    ;;
garbage)
    printf 'this is not an OUTCAR\n%s\n' "$(seq 1 50 | tr '\n' ' ')" > OUTCAR
    exit 0
    ;;
nan)
    replay > /dev/null
    sed -i -e 's/\(free  energy   TOTEN  =\)[[:space:]]*-253\.88059011/\1               NaN/' \
        -e 's/\(energy(sigma->0) =\)[[:space:]]*-253\.79850546/\1          NaN/' OUTCAR
    exit 0
    ;;
*)
    fail "unknown mode '$mode'"
    ;;
esac
