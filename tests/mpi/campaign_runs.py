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
CASE: ranks | kill | sigterm | sigusr1 | write_errors
"""
import argparse
import json
import os
import random
import resource
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


def wait_for_commits(h5, timeout=30):
    """Waits until the live campaign file has committed structures; returns
    its size in bytes and the committed structure count."""
    t_end = time.time() + timeout
    while time.time() < t_end:
        time.sleep(0.2)
        if not os.path.exists(h5):
            continue
        try:
            with h5py.File(h5, "r", swmr=True) as f:
                ns, _, _ = committed(f)
        except (OSError, KeyError):
            continue  # the file is still being created
        if ns > 0:
            return os.path.getsize(h5), ns
    fail("%s: no committed structures within %d s" % (h5, timeout))


def rank0_pid(yaml):
    for pid in job_pids(yaml, ranks_only=True):
        try:
            with open("/proc/%d/environ" % pid, "rb") as f:
                if b"OMPI_COMM_WORLD_RANK=0" in f.read().split(b"\0"):
                    return pid
        except OSError:
            pass
    fail("rank 0 of %s not found" % yaml)


def run_statuses(h5):
    with h5py.File(h5, "r", swmr=True) as f:
        return [bytes(r["status"]).rstrip(b"\0").decode() for r in f["provenance/runs"][:]]


def case_sigusr1(args):
    """SIGUSR1 to mpirun (what the jobscripts send before the walltime):
    mpirun forwards it to the ranks, which commit and exit 0 within
    seconds; the provenance says so; the rerun matches an uninterrupted
    campaign."""
    yaml, h5 = write_campaign(args.work, "reference", 150, 3, 0.5, args.source)
    run(args, 2, yaml)
    ref = content(h5)
    yaml, h5 = write_campaign(args.work, "usr1", 150, 3, 0.5, args.source)
    env = dict(os.environ, **MPI_ENV)
    p = subprocess.Popen(command(args, 3, yaml), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    wait_for_commits(h5)
    t_signal = time.time()
    p.send_signal(signal.SIGUSR1)  # p is mpirun itself
    try:
        out, _ = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("fuse2-mpi did not exit within 30 s of SIGUSR1 to mpirun")
    dt = time.time() - t_signal
    wait_no_job(yaml)
    if p.returncode != 0:
        fail("exit %d after SIGUSR1:\n%s" % (p.returncode, out[-3000:]))
    if "stopped by signal" not in out:
        fail("no 'stopped by signal' line:\n" + out[-3000:])
    if dt > 10:
        fail("took %.1f s to stop after SIGUSR1" % dt)
    with h5py.File(h5, "r") as f:  # closed cleanly: a plain (non-SWMR) open works
        ns, _, finished = committed(f)
    if finished or ns == 0:
        fail("after SIGUSR1: %d committed structures, finished=%s" % (ns, finished))
    statuses = run_statuses(h5)
    print("  SIGUSR1: exit 0 after %.2f s, %d structures committed, run status '%s'" % (dt, ns, statuses[-1]),
          flush=True)
    if statuses != ["signal SIGUSR1"]:
        fail("provenance statuses after SIGUSR1: %s" % statuses)
    out = run(args, 2, yaml)
    if "done:" not in out:
        fail("the rerun did not finish:\n" + out[-2000:])
    if run_statuses(h5) != ["signal SIGUSR1", "finished"]:
        fail("provenance statuses after the rerun: %s" % run_statuses(h5))
    compare(ref, content(h5), "after SIGUSR1 and rerun")


def expect_clean_error(p, out, what, needles):
    """Exit code 1 (not a crash), one error line naming the problem."""
    if p.returncode != 1:
        fail("%s: exit %d, expected 1:\n%s" % (what, p.returncode, out[-3000:]))
    for bad in ("Segmentation fault", "signal 11", "exited on signal", "core dumped"):
        if bad in out:
            fail("%s: a process crashed:\n%s" % (what, out[-3000:]))
    hits = [line for line in out.splitlines() if line.startswith("fuse2-mpi:") and all(n in line for n in needles)]
    if not hits:
        fail("%s: no error line with %s:\n%s" % (what, needles, out[-3000:]))
    print("  %s: exit 1, '%s'" % (what, hits[0]), flush=True)


def case_write_errors(args):
    """HDF5 write errors stop the campaign cleanly. A file-size limit on
    rank 0 (set from outside once the campaign has commits, so Open MPI's
    shared memory is set up first) makes its writes fail like a full disk:
    exit 1 without a crash, one error naming the file, the provenance says
    "error", the file keeps its commits and readable, and a rerun without
    the limit ends with the content of an uninterrupted campaign. The same
    with a really full disk (a tmpfs, if it can be mounted). Then an output
    directory that cannot exist and a campaign file that cannot be opened
    for writing (immutable: root ignores permissions)."""
    yaml, h5 = write_campaign(args.work, "reference", 150, 3, 0.2, args.source)
    run(args, 2, yaml)
    ref = content(h5)
    yaml, h5 = write_campaign(args.work, "full", 150, 3, 0.2, args.source)
    env = dict(os.environ, **MPI_ENV)
    p = subprocess.Popen(command(args, 3, yaml), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    size, ns = wait_for_commits(h5)
    limit = size + 16384
    resource.prlimit(rank0_pid(yaml), resource.RLIMIT_FSIZE, (limit, limit))
    try:
        out, _ = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("fuse2-mpi did not stop within 60 s of the file-size limit")
    wait_no_job(yaml)
    if p.returncode == 0:
        fail("the campaign ended before the file reached the limit (%d bytes); make it longer:\n%s" %
             (limit, out[-2000:]))
    expect_clean_error(p, out, "file-size limit on rank 0", [h5, "File too large"])
    # as the failure left it: SWMR reading works (h5py, fuse2 inspect), h5dump after h5clear -s
    with h5py.File(h5, "r", swmr=True) as f:
        ns_after, _, finished = committed(f)
    if ns_after < ns or finished:
        fail("after the failure: %d committed structures (had %d), finished=%s" % (ns_after, ns, finished))
    if run_statuses(h5) != ["error"]:
        fail("provenance statuses after the write error: %s" % run_statuses(h5))
    info = inspect_json(args, h5)
    if info["rows"]["structures_committed"] != ns_after:
        fail("fuse2 inspect sees %s committed structures, h5py %d" % (info["rows"]["structures_committed"], ns_after))
    copy = h5 + ".copy"
    shutil.copyfile(h5, copy)
    for cmd in (["h5clear", "-s", copy], ["h5dump", "-H", copy]):
        q = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if q.returncode != 0:
            fail("%s failed on the file left by the write error: %s" % (" ".join(cmd), q.stderr[-2000:]))
    os.remove(copy)
    print("  left file: %d structures committed, provenance 'error'; h5py, inspect, h5clear + h5dump read it" %
          ns_after, flush=True)
    out = run(args, 2, yaml)
    if "done:" not in out:
        fail("the rerun did not finish:\n" + out[-2000:])
    if run_statuses(h5) != ["error", "finished"]:
        fail("provenance statuses after the rerun: %s" % run_statuses(h5))
    compare(ref, content(h5), "after the write error and rerun")

    disk_full(args, ref)

    # an output directory below a regular file: nothing can be created
    plain = os.path.join(args.work, "plain-file")
    with open(plain, "w") as f:
        f.write("not a directory\n")
    bad_yaml = os.path.join(args.work, "baddir.yaml")
    with open(yaml) as f:
        text = f.read()
    with open(bad_yaml, "w") as f:
        f.write(text.replace("output_dir: " + os.path.dirname(h5), "output_dir: " + os.path.join(plain, "out")))
    p = subprocess.run(command(args, 3, bad_yaml), env=env, capture_output=True, text=True, timeout=60)
    expect_clean_error(p, p.stdout + p.stderr, "output directory below a file", [plain, "Not a directory"])

    # a campaign file that cannot be opened for writing
    if subprocess.run(["chattr", "+i", h5], capture_output=True).returncode != 0:
        print("  skipped the unwritable-file check: chattr +i is not supported here (root ignores "
              "permission bits, so there is no other way to refuse root a write)", flush=True)
        return
    try:
        p = subprocess.run(command(args, 3, yaml), env=env, capture_output=True, text=True, timeout=60)
    finally:
        subprocess.run(["chattr", "-i", h5], check=True)
    expect_clean_error(p, p.stdout + p.stderr, "immutable campaign file", [h5, "not permitted"])
    if run_statuses(h5) != ["error", "finished"]:
        fail("the refused run changed the file: %s" % run_statuses(h5))
    compare(ref, content(h5), "after the refused run")


def disk_full(args, ref):
    """A real full disk (ENOSPC): the campaign runs on a small tmpfs that is
    shrunk to what it uses once there are commits (needs mount rights)."""
    mnt = os.path.join(args.work, "tmpfs")
    os.makedirs(mnt)
    q = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mnt], capture_output=True, text=True)
    if q.returncode != 0:
        print("  skipped the full-disk check: cannot mount a tmpfs here (%s); the file-size limit above "
              "fails writes the same way" % q.stderr.strip(), flush=True)
        return
    try:
        yaml, h5 = write_campaign(mnt, "disk", 150, 3, 0.2, args.source)
        env = dict(os.environ, **MPI_ENV)
        p = subprocess.Popen(command(args, 3, yaml), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        wait_for_commits(h5)
        used = 1024 * int(subprocess.run(["du", "-sk", mnt], capture_output=True, text=True).stdout.split()[0])
        subprocess.run(["mount", "-o", "remount,size=%d" % (used + 65536), mnt], check=True)
        try:
            out, _ = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            fail("fuse2-mpi did not stop within 60 s of the full disk")
        wait_no_job(yaml)
        if p.returncode == 0:
            fail("the campaign ended before the disk was full; make it longer:\n" + out[-2000:])
        expect_clean_error(p, out, "full disk", [h5, "No space left on device"])
        if run_statuses(h5) != ["error"]:
            fail("provenance statuses after the full disk: %s" % run_statuses(h5))
        subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True)
        out = run(args, 2, yaml)
        if "done:" not in out:
            fail("the rerun did not finish:\n" + out[-2000:])
        compare(ref, content(h5), "after the full disk and rerun")
    finally:
        subprocess.run(["umount", "-l", mnt])


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
    root_attrs = set(re.findall(r"^\| `/` attribute `([A-Za-z_0-9]+)` \|", layout, re.M))
    documented = set(paths)
    groups = {"/"} | {p[:i] for p in paths for i in range(1, len(p)) if p[i] == "/"}
    with h5py.File(h5, "r") as f:
        for path in paths:
            if path not in f:
                fail("documented dataset %s is not in the file" % path)
        for path, names in members.items():
            actual = set(f[path].dtype.names)
            if actual != names:
                fail("%s: members only in the file %s, only in the doc %s" %
                     (path, sorted(actual - names), sorted(names - actual)))
        # and the other way round: nothing in the file that the doc does not list
        undocumented = []

        def visit(name, obj):
            path = "/" + name
            if isinstance(obj, h5py.Dataset):
                if path not in documented:
                    undocumented.append("dataset " + path)
                elif obj.dtype.names is not None and path not in members:
                    undocumented.append("members of the compound dataset " + path)
            elif path not in groups:
                undocumented.append("group " + path)
            undocumented.extend("attribute %s of %s" % (a, path) for a in obj.attrs)

        f.visititems(visit)
        if set(f.attrs) != root_attrs:
            undocumented.extend("root attribute " + a for a in sorted(set(f.attrs) - root_attrs))
            undocumented.extend("root attribute %s (documented, not in the file)" % a
                                for a in sorted(root_attrs - set(f.attrs)))
        if undocumented:
            fail("in the file but not in docs/campaign-file.md: " + ", ".join(undocumented))
        fmt = f.attrs["format"]
        fmt = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
        if fmt != "fuse2-campaign" or int(f.attrs["schema_version"]) != 1:
            fail("root attributes: format %r, schema_version %r" % (fmt, f.attrs["schema_version"]))
    print("  schema: %d datasets and %d compound tables match docs/campaign-file.md, both ways" %
          (len(paths), len(members)), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["ranks", "kill", "sigterm", "sigusr1", "write_errors"])
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
    {"ranks": case_ranks, "kill": case_kill, "sigterm": case_sigterm, "sigusr1": case_sigusr1,
     "write_errors": case_write_errors}[args.case](args)
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
