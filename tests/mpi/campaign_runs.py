#!/usr/bin/python3
"""End-to-end tests of fuse2-mpi under mpirun (run by ctest, label "mpi").

Each case runs real campaigns (SrTiO3, built-in Buckingham potential) and
compares the campaign files' content read with h5py, an HDF5 reader that
is not ours. "Content" is every evaluated structure (cell, positions,
species, energies, status, move, space group) and every step record with
the walker state after it, keyed by (walker, step, trial); what depends on
timing or placement is left out: wall times, the rank that ran a task, row
order (rows are appended as results arrive) and the row ids that follow
from it.

usage: campaign_runs.py CASE --mpi FUSE2_MPI --cli FUSE2 --source SRC --work DIR
CASE: ranks | kill | sigterm
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
    "OMPI_MCA_btl": "self,vader",
    "OMPI_MCA_pml": "ob1",
    "OMPI_MCA_oob_tcp_if_include": "lo",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
}

CAMPAIGN = """composition: {{Sr: 1, Ti: 1, O: 3}}
max_atoms: 20
imax_atoms: 15
seed: {seed}
output_dir: {out}
initial_gen: 6
iterations: {iterations}
rmax: 100000
walkers: {walkers}
checkpoint_interval: {checkpoint}
write_all_structures: false
calculator:
  name: builtin
  library: {library}
  c6: true
relax:
  optimizer: lbfgs
  fmax: 0.05
  smax: 0.0005
  max_steps: 300
"""


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def write_campaign(work, name, iterations, walkers, checkpoint, source, seed=424242):
    out = os.path.join(work, name)
    shutil.rmtree(out, ignore_errors=True)
    path = os.path.join(work, name + ".yaml")
    with open(path, "w") as f:
        f.write(CAMPAIGN.format(seed=seed, out=out, iterations=iterations, walkers=walkers,
                                checkpoint=checkpoint,
                                library=os.path.join(source, "examples/srtio3/SrTiO3-buck.lib")))
    return path, os.path.join(out, name + ".h5")


def command(args, ranks, yaml):
    if ranks == 0:  # singleton: no mpirun
        return [args.mpi, yaml]
    return ["mpirun", "-n", str(ranks), "--bind-to", "none", args.mpi, yaml]


def run(args, ranks, yaml, timeout=300):
    env = dict(os.environ, **MPI_ENV)
    t0 = time.time()
    p = subprocess.run(command(args, ranks, yaml), env=env, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        fail("%s with %d ranks exited %d\nstdout:\n%s\nstderr:\n%s" %
             (yaml, ranks, p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    print("  %d ranks: %.1f s, %s" % (ranks, time.time() - t0, p.stdout.strip().splitlines()[-1]), flush=True)
    return p.stdout


def job_pids(yaml, ranks_only=False):
    """Processes running this campaign file (mpirun and the ranks), found by
    the YAML path on their command line, so parallel tests are not hit."""
    p = subprocess.run(["pgrep", "-f", yaml], capture_output=True, text=True)
    pids = []
    for x in p.stdout.split():
        pid = int(x)
        if pid == os.getpid():
            continue
        try:
            with open("/proc/%d/comm" % pid) as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm == "fuse2-mpi" or (not ranks_only and comm in ("mpirun", "orterun", "prterun")):
            pids.append(pid)
    return pids


def wait_no_job(yaml, timeout=20):
    t_end = time.time() + timeout
    while job_pids(yaml) and time.time() < t_end:
        time.sleep(0.05)
    if job_pids(yaml):
        fail("processes left running: %s" % job_pids(yaml))


def committed(f):
    """Table lengths of the last checkpoint (the committed prefix)."""
    cps = f["checkpoints/records"]
    if cps.shape[0] == 0:
        return 0, 0, False
    last = cps[cps.shape[0] - 1]
    return int(last["n_structures"]), int(last["n_steps"]), bool(last["finished"])


def content(path):
    """The campaign's content as a sorted list of plain tuples."""
    with h5py.File(path, "r") as f:
        ns, nsteps, finished = committed(f)
        rec = f["structures/records"][:ns]
        species = f["structures/species"][:]
        pos = f["structures/positions"][:]
        spos = f["structures/start_positions"][:]
        steps = f["steps/records"][:nsteps]
    key_of = {}
    structures = []
    for i, r in enumerate(rec):
        key = (int(r["origin"] == 2), int(r["walker"]), int(r["step"]), int(r["trial"]))
        key_of[i] = key
        a, n = int(r["atom_offset"]), int(r["natoms"])
        structures.append((key, int(r["origin"]), int(r["move"]), int(r["status"]), int(r["relax_steps"]),
                           int(r["spacegroup"]), float(r["energy"]), float(r["energy_per_atom"]),
                           float(r["score"]), r["cell"].tobytes(), r["start_cell"].tobytes(),
                           bytes(r["reason"]), bytes(r["calculator"]), species[a:a + n].tobytes(),
                           pos[a:a + n].tobytes(), spos[a:a + n].tobytes()))
    records = []
    skip = {"first_structure", "current_id", "best_id", "elapsed"}
    for s in steps:
        fields = tuple((name, s[name].item()) for name in steps.dtype.names if name not in skip)
        records.append(((int(s["walker"]), int(s["step"])), key_of[int(s["first_structure"])],
                        key_of[int(s["current_id"])], key_of[int(s["best_id"])], fields))
    structures.sort(key=lambda t: t[0])
    records.sort(key=lambda t: t[0])
    if len(set(t[0] for t in structures)) != len(structures):
        fail("%s: a structure key appears twice" % path)
    if len(set(t[0] for t in records)) != len(records):
        fail("%s: a step appears twice" % path)
    return structures, records, finished


def compare(ref, other, what):
    rs, rr, rf = ref
    os_, or_, of = other
    if not rf or not of:
        fail("%s: a campaign did not finish (finished flags %s, %s)" % (what, rf, of))
    if len(rs) != len(os_) or len(rr) != len(or_):
        fail("%s: %d/%d structures, %d/%d steps" % (what, len(rs), len(os_), len(rr), len(or_)))
    for a, b in zip(rs, os_):
        if a != b:
            fail("%s: structure %s differs from the reference" % (what, a[0]))
    for a, b in zip(rr, or_):
        if a != b:
            fail("%s: step %s differs from the reference:\n%s\n%s" % (what, a[0], a, b))
    print("  %s: %d structures and %d steps identical" % (what, len(rs), len(rr)), flush=True)


def case_ranks(args):
    """The same campaign on 1, 2, 4 and 7 ranks: identical content."""
    ref = None
    for ranks in (1, 2, 4, 7):
        yaml, h5 = write_campaign(args.work, "ranks%d" % ranks, 70, 3, 30, args.source)
        run(args, ranks, yaml)
        c = content(h5)
        if ref is None:
            ref = c
            if len(c[0]) != 70:
                fail("expected 70 structures, got %d" % len(c[0]))
        else:
            compare(ref, c, "%d ranks vs 1 rank" % ranks)


def case_kill(args):
    """SIGKILL the whole job at random moments (checkpoints every 20 ms, so
    kills land in writes too), restart each time with another rank count,
    and end with exactly the content of an uninterrupted run."""
    rng = random.Random(args.seed)
    yaml, h5 = write_campaign(args.work, "reference", 600, 4, 0.02, args.source)
    run(args, 1, yaml)
    ref = content(h5)
    yaml, h5 = write_campaign(args.work, "killed", 600, 4, 0.02, args.source)
    env = dict(os.environ, **MPI_ENV)
    kills, attempts = 0, 0
    rank_cycle = [3, 2, 4, 1, 7, 3, 2]
    while kills < args.kills and attempts < 4 * args.kills:
        ranks = rank_cycle[attempts % len(rank_cycle)]
        attempts += 1
        p = subprocess.Popen(command(args, ranks, yaml), env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
        delay = rng.uniform(0.3, 1.3)
        time.sleep(delay)
        if p.poll() is not None:
            out = p.stdout.read()
            if p.returncode != 0:
                fail("run ended with %d before the kill:\n%s" % (p.returncode, out[-3000:]))
            break  # finished before the kill
        for pid in job_pids(yaml):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        p.stdout.close()
        wait_no_job(yaml)
        kills += 1
        ns, nsteps, finished = (0, 0, False)
        if os.path.exists(h5):
            # what fuse2 inspect reads from the killed writer's file
            info = inspect_json(args, h5)
            rows = info["rows"]
            ns, nsteps, finished = rows["structures_committed"], rows["steps_committed"], info["finished"]
        print("  kill %d after %.2f s on %d ranks: committed %d structures, %d steps" %
              (kills, delay, ranks, ns, nsteps), flush=True)
        if finished:
            break
    if kills < args.kills:
        fail("only %d kills landed before the campaign finished; make it longer" % kills)
    out = run(args, 2, yaml)
    if "done:" not in out:
        fail("the restarted campaign did not finish:\n" + out[-2000:])
    compare(ref, content(h5), "after %d kills" % kills)


def inspect_json(args, h5):
    p = subprocess.run([args.cli, "inspect", h5, "--json"], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        fail("fuse2 inspect exited %d: %s" % (p.returncode, p.stderr[-2000:]))
    return json.loads(p.stdout)


def case_sigterm(args):
    """SIGTERM to the ranks (what Slurm sends): commit and exit 0 within
    seconds; fuse2 inspect and h5py work while it runs; the rerun continues
    and matches an uninterrupted campaign."""
    yaml, h5 = write_campaign(args.work, "reference", 200, 3, 1, args.source)
    run(args, 1, yaml)
    ref = content(h5)
    yaml, h5 = write_campaign(args.work, "terminated", 200, 3, 1, args.source)
    env = dict(os.environ, **MPI_ENV)
    p = subprocess.Popen(command(args, 3, yaml), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    # live reading while the campaign writes
    t_end = time.time() + 20
    seen = 0
    while time.time() < t_end and seen < 3:
        time.sleep(0.3)
        if os.path.exists(h5):
            info = inspect_json(args, h5)
            seen += 1
            with h5py.File(h5, "r", swmr=True) as f:
                n = f["structures/records"].shape[0]
            print("  live: inspect ok, h5py sees %d structure rows" % n, flush=True)
    if seen < 3:
        fail("the campaign file did not appear in time")
    t_signal = time.time()
    for pid in job_pids(yaml, ranks_only=True):
        os.kill(pid, signal.SIGTERM)
    try:
        out, _ = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("fuse2-mpi did not exit within 30 s of SIGTERM")
    dt = time.time() - t_signal
    if p.returncode != 0:
        fail("exit %d after SIGTERM:\n%s" % (p.returncode, out[-3000:]))
    if "stopped by signal" not in out:
        fail("no 'stopped by signal' line:\n" + out[-3000:])
    if dt > 10:
        fail("took %.1f s to stop after SIGTERM" % dt)
    with h5py.File(h5, "r") as f:
        ns, nsteps, finished = committed(f)
        runs = f["provenance/runs"][:]
    if finished or ns == 0:
        fail("after SIGTERM: %d committed structures, finished=%s" % (ns, finished))
    status = bytes(runs[-1]["status"]).rstrip(b"\0").decode()
    print("  SIGTERM: exit 0 after %.2f s, %d structures committed, run status '%s'" % (dt, ns, status),
          flush=True)
    if "signal" not in status:
        fail("provenance status after SIGTERM is '%s'" % status)
    info = inspect_json(args, h5)
    out = run(args, 2, yaml)
    if "done:" not in out:
        fail("the rerun did not finish:\n" + out[-2000:])
    compare(ref, content(h5), "after SIGTERM and rerun")
    # a finished file opens with h5dump (not ours) and has the documented groups
    p = subprocess.run(["h5dump", "-H", h5], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        fail("h5dump -H failed: " + p.stderr[-2000:])
    for name in ("config", "provenance", "structures", "steps", "checkpoints", "records", "positions"):
        if name not in p.stdout:
            fail("h5dump output lacks '%s'" % name)
    print("  h5dump -H: ok", flush=True)
    check_schema_against_doc(args, h5)


def check_schema_against_doc(args, h5):
    """docs/campaign-file.md lists every dataset and every compound member:
    the file must have exactly those."""
    import re
    doc = open(os.path.join(args.source, "docs", "campaign-file.md")).read()
    layout = doc[doc.index("## Layout"):]
    layout = layout[:layout.index("\n#")]
    paths = re.findall(r"^\| `(/[a-z_/]+)` \|", layout, re.M)
    members = {}
    for m in re.finditer(r"^### `(/[a-z_/]+)` \(compound", doc, re.M):
        section = doc[m.end():]
        section = section[:section.index("\n#")] if "\n#" in section else section
        names = set()
        for line in section.splitlines():
            if line.startswith("| `"):
                names.update(re.findall(r"`([A-Za-z_0-9]+)`", line.split("|")[1]))
        members[m.group(1)] = names
    if len(paths) < 8 or len(members) < 4:
        fail("could not read the schema from docs/campaign-file.md (%d paths, %d tables)" %
             (len(paths), len(members)))
    with h5py.File(h5, "r") as f:
        for path in paths:
            if path not in f:
                fail("documented dataset %s is not in the file" % path)
        for path, names in members.items():
            actual = set(f[path].dtype.names)
            if actual != names:
                fail("%s: members only in the file %s, only in the doc %s" %
                     (path, sorted(actual - names), sorted(names - actual)))
        fmt = f.attrs["format"]
        fmt = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
        if fmt != "fuse2-campaign" or int(f.attrs["schema_version"]) != 1:
            fail("root attributes: format %r, schema_version %r" % (fmt, f.attrs["schema_version"]))
    print("  schema: %d datasets and %d compound tables match docs/campaign-file.md" %
          (len(paths), len(members)), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["ranks", "kill", "sigterm"])
    ap.add_argument("--mpi", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--kills", type=int, default=6)
    ap.add_argument("--seed", type=int, default=20261125)
    args = ap.parse_args()
    args.work = os.path.join(args.work, args.case)
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    print("case %s in %s" % (args.case, args.work), flush=True)
    {"ranks": case_ranks, "kill": case_kill, "sigterm": case_sigterm}[args.case](args)
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
