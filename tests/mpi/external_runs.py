#!/usr/bin/python3
"""Campaigns with external calculators under mpirun (ctest, labels "mpi",
"external"): the whole worker path, from the controller's task to the
code's scratch directory and back into the campaign file.

  faults    LAMMPS (real lmp) behind a wrapper that misbehaves in turn:
            exits non-zero, hangs past the time limit, writes garbage,
            reports a NaN energy, deletes its output. Every such structure
            must be recorded with the right failure class while the campaign
            runs to its end, and no process may be left behind.
  chain_qe  a tiered chain (built-in Morse potential, then Quantum ESPRESSO
            pw.x) on a small silicon campaign: both stages recorded per
            structure in /structures/stages, the energy from pw.x.

usage: external_runs.py CASE --mpi FUSE2_MPI --cli FUSE2 --source SRC --work DIR
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_runs import fail, run  # noqa: E402  (same mpirun set-up and reporting)

# The wrapper picks its behaviour from a counter shared by all ranks (flock),
# so every fault happens during the campaign whatever the task order.
FAULTY = r"""#!/bin/sh
# test-only wrapper around lmp that injects faults in turn
counter="$1"; shift
n=$(flock "$counter.lock" sh -c 'n=$(cat "$0" 2>/dev/null || echo 0); echo $((n + 1)) > "$0"; echo $n' "$counter")
case $((n % 6)) in
  1) echo "injected crash" >&2; exit 1 ;;
  2) sleep 60 ;;
  3) echo "this is not LAMMPS output" > log.lammps; echo garbage > fuse2_final.txt ;;
  4) "$@" || exit $?; awk '{ $3 = "nan"; print }' fuse2_final.txt > t && mv t fuse2_final.txt ;;
  5) "$@" || exit $?; rm -f log.lammps fuse2_final.txt final.dump ;;
  *) exec "$@" ;;
esac
"""

FAULTS_CAMPAIGN = """composition: {{Sr: 1, Ti: 1, O: 3}}
max_atoms: 10
imax_atoms: 10
seed: 77
output_dir: {out}
initial_gen: 6
iterations: 18
walkers: 2
write_all_structures: false
calculator:
  name: lammps
  command: "sh {faulty} {counter} lmp -in in.lammps"
  scratch: {scratch}
  time_limit: 3
  elements: Sr Ti O
  charges: Sr 2 Ti 4 O -2
  pair_style: buck/coul/long 10.0
  pair_coeff: |
    Sr O 1952.39 0.33685 19.22
    Ti O 4590.7279 0.261 0.0
    O O 1388.77 0.36262 175.0
    Sr Sr 0.0 1.0 0.0
    Sr Ti 0.0 1.0 0.0
    Ti Ti 0.0 1.0 0.0
  kspace_style: ewald 1e-6
relax:
  fmax: 0.05
  smax: 0.001
  max_steps: 200
"""

SI_MORSE = """# Si-Si Morse pair (test model for the first stage only)
species
Si core 0.0
morse
Si core Si core 2.17 1.47 2.35 0.0 6.0
"""

CHAIN_CAMPAIGN = """composition: Si
max_atoms: 2
imax_atoms: 2
check_bonds: false      # FUSE2's coordination test rejects every 1-2 atom silicon cell
seed: 5
output_dir: {out}
initial_gen: 2
iterations: 3
walkers: 1
write_all_structures: false
calculator:
  name: chain
  stages:
    - name: builtin
      library: {library}
    - name: qe
      scratch: {scratch}
      pseudopotentials: {{Si: Si.pz-vbc.UPF}}
      ecutwfc: 10
      kspacing: 0.7
      time_limit: 120
      max_steps: 40       # this stage's own limits (the campaign's relax: is for stage 1)
      fmax: 0.1
      environment: {{OMP_NUM_THREADS: 1}}
relax:
  fmax: 0.05
  smax: 0.001
  max_steps: 12
"""


def leftover(pattern):
    p = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return [int(x) for x in p.stdout.split() if int(x) != os.getpid()]


def case_faults(args):
    work = os.path.join(args.work, "faults")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    faulty = os.path.join(work, "faulty-lmp.sh")
    with open(faulty, "w") as f:
        f.write(FAULTY)
    yaml = os.path.join(work, "faults.yaml")
    out = os.path.join(work, "out")
    with open(yaml, "w") as f:
        f.write(FAULTS_CAMPAIGN.format(out=out, faulty=faulty, counter=os.path.join(work, "counter"),
                                       scratch=os.path.join(work, "scratch")))
    t0 = time.time()
    run(args, 3, yaml, timeout=600)
    print("  campaign with injected faults: %.1f s" % (time.time() - t0))
    with h5py.File(os.path.join(out, "faults.h5"), "r") as f:
        rec = f["/structures/records"][:]
        runs = f["/provenance/runs"][:]
    if len(rec) != 18:
        fail("expected 18 relaxations, the file has %d" % len(rec))
    if runs[-1]["status"].decode() != "finished":
        fail("campaign did not finish: %s" % runs[-1]["status"])
    reasons = [r.decode() for r in rec["reason"]]
    status = list(rec["status"])
    classes = {}
    for st, why in zip(status, reasons):
        # "failed: crashed: ..." (the evaluation's status, then the driver's class)
        words = [w.strip() for w in why.split(":")[:2]]
        key = "ok" if st != 2 else next((w for w in words if w in
                                        ("crashed", "timed_out", "unparsable", "non_finite")), why)
        classes[key] = classes.get(key, 0) + 1
    print("  outcomes:", classes)
    # the wrapper's counter cycles through 6 behaviours over the 18 runs
    # (no structure fails the pre-checks here, so every one is a run): each
    # fault 3 times, garbage and deleted output both unparsable
    expected = {"ok": 3, "crashed": 3, "timed_out": 3, "unparsable": 6, "non_finite": 3}
    if classes != expected:
        fail("outcomes %s, expected %s; reasons %s" % (classes, expected, reasons))
    if any(st == 2 and not why for st, why in zip(status, reasons)):
        fail("a failed structure has no reason")
    if not np.all(np.isfinite(rec["energy_per_atom"])):
        fail("non-finite energy_per_atom stored")
    # the hanging wrappers were killed with their process group
    time.sleep(0.5)
    if leftover("sleep 60"):
        fail("processes left behind: %s" % leftover("sleep 60"))
    print("PASS faults")


def case_chain_qe(args):
    if not shutil.which("pw.x"):
        fail("pw.x not found (Debian package quantum-espresso)")
    work = os.path.join(args.work, "chain_qe")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    lib = os.path.join(work, "si-morse.lib")
    with open(lib, "w") as f:
        f.write(SI_MORSE)
    yaml = os.path.join(work, "chain.yaml")
    out = os.path.join(work, "out")
    with open(yaml, "w") as f:
        f.write(CHAIN_CAMPAIGN.format(out=out, library=lib, scratch=os.path.join(work, "scratch")))
    t0 = time.time()
    run(args, 2, yaml, timeout=900)
    print("  chain builtin -> qe campaign: %.1f s" % (time.time() - t0))
    with h5py.File(os.path.join(out, "chain.h5"), "r") as f:
        rec = f["/structures/records"][:]
        stages = f["/structures/stages"][:]
    if len(rec) != 3:
        fail("expected 3 relaxations, got %d" % len(rec))
    good = qe_converged = 0
    for r in rec:
        rows = stages[stages["structure"] == r["id"]]
        names = [x.decode() for x in rows["calculator"]]
        if not rows.size or names[0] != "builtin":
            fail("structure %d: stages %s" % (r["id"], names))
        if r["status"] != 2:
            if names != ["builtin", "qe"]:
                fail("structure %d relaxed without both stages: %s" % (r["id"], names))
            if abs(rows[1]["energy"] - r["energy"]) > 1e-6:
                fail("structure %d: energy %.8f is not the qe stage's %.8f" % (r["id"], r["energy"], rows[1]["energy"]))
            if rows[0]["energy"] == rows[1]["energy"]:
                fail("stage energies are identical: the second stage did not run")
            # a pw.x LDA energy of silicon, about -107.9 eV/atom, not a Morse one
            if not -112 < r["energy_per_atom"] < -100:
                fail("structure %d: %.4f eV/atom is not a pw.x silicon energy" % (r["id"], r["energy_per_atom"]))
            good += 1
            qe_converged += rows[1]["status"] == 0
    if good == 0:
        fail("no structure relaxed through both stages: %s" % [x.decode() for x in rec["reason"]])
    print("  %d of %d structures relaxed through builtin -> qe, %d converged in pw.x" % (good, len(rec), qe_converged))
    if qe_converged == 0:
        fail("no pw.x stage converged")
    print("PASS chain_qe")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["faults", "chain_qe"])
    ap.add_argument("--mpi", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    {"faults": case_faults, "chain_qe": case_chain_qe}[args.case](args)


if __name__ == "__main__":
    main()
