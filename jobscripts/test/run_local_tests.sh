#!/bin/bash
# Tests the logic of the Slurm and PBS job scripts without a scheduler:
# stand-ins for fuse2, fuse2-mpi (a bash "rank" under the real mpirun, so the
# SIGUSR1 forwarding of mpirun is exercised), sbatch and qsub. The scheduler's
# warning signal is sent by hand (Slurm) or by the script's own timer (PBS).
#
#   jobscripts/test/run_local_tests.sh               # about 30 s
#   jobscripts/test/run_local_tests.sh BUILD_DIR     # also end to end with the real
#                                                    # fuse2 and fuse2-mpi (+10 s)
#
# Needs mpirun (Open MPI); as root it sets Open MPI's run-as-root variables.
set -u
real_build=${1:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
slurm="$here/../slurm/fuse2-campaign.sbatch"
pbs="$here/../pbs/fuse2-campaign.pbs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
failures=0

mkdir -p "$work/bin" "$work/out"
# fuse2: `check` prints the resolved paths, `inspect --json` prints the fake campaign state
cat >"$work/bin/fuse2" <<'EOF'
#!/bin/bash
case "$1" in
check)
    [ -n "${FAKE_CHECK_FAIL:-}" ] && { echo "campaign.yaml:3: bad key" >&2; exit 1; }
    printf 'seed: 1\noutput_dir: "%s"\ncampaign_file: "c.h5"\nstop_file: "stop.txt"\n' "$FAKE_OUT" ;;
inspect)
    [ -e "$2" ] || exit 1
    cat "$2" ;;
*) exit 2 ;;
esac
EOF
# fuse2-mpi: FAKE_MODE finish | signal (runs until SIGUSR1) | fail; rank 0 writes the state
cat >"$work/bin/fuse2-mpi" <<'EOF'
#!/bin/bash
rank=${OMPI_COMM_WORLD_RANK:-0}
h5="$FAKE_OUT/c.h5"
echo "start" >>"$FAKE_OUT/starts.$rank"
write_state() { # finished relaxations
    [ "$rank" = 0 ] && printf '{\n  "file": "%s",\n  "finished": %s,\n  "progress": {\n    "relaxations": %s\n  }\n}\n' "$h5" "$1" "$2" >"$h5"
}
old=0
[ -e "$h5" ] && old=$(sed -n 's/.*"relaxations": \([0-9]*\).*/\1/p' "$h5")
case "$FAKE_MODE" in
finish) sleep 1; write_state true 100; exit 0 ;;
fail) exit 2 ;;
signal)
    stop=0
    trap 'stop=1' USR1
    for _ in $(seq 300); do
        [ "$stop" = 1 ] && { write_state false $((old + 10)); echo "rank $rank: USR1" >>"$FAKE_OUT/usr1"; exit 0; }
        sleep 0.1
    done
    exit 3 ;;
esac
EOF
# sbatch / qsub: record the resubmission
cat >"$work/bin/submit" <<'EOF'
#!/bin/bash
printf '%s\n' "$*" >>"$FAKE_OUT/submitted"
EOF
chmod +x "$work/bin/"*
export PATH="$work/bin:$PATH" FAKE_OUT="$work/out"

reset() {
    rm -f "$work/out/"*
    unset FAKE_CHECK_FAIL FUSE2_RESUBMIT_COUNT
}
check() { # description, condition...
    local what=$1
    shift
    if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; failures=$((failures + 1)); fi
}
contains() { grep -q -- "$2" "$1" 2>/dev/null; }
absent() { [ ! -e "$1" ]; }
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

common_env=(FUSE2_LAUNCHER="mpirun --oversubscribe -n 2" FUSE2_MIN_RUNTIME=1)

# ---- Slurm: USR1 by hand, as `--signal=B:USR1@...` does ----
slurm_run() { # mode, signal or "", extra env...
    local mode=$1 sig=$2
    shift 2
    local before0 before1
    before0=$(cat "$FAKE_OUT/starts.0" 2>/dev/null | wc -l)
    before1=$(cat "$FAKE_OUT/starts.1" 2>/dev/null | wc -l)
    env "${common_env[@]}" FUSE2_SBATCH=submit SLURM_JOB_ID=4242 FAKE_MODE="$mode" "$@" \
        bash "$slurm" "$work/campaign.yaml" >"$work/log" 2>&1 &
    local pid=$!
    if [ -n "$sig" ]; then
        # signal once both ranks run (mpirun may start slowly on a busy
        # machine), as Slurm's warning comes long after the start
        for _ in $(seq 600); do
            [ "$(cat "$FAKE_OUT/starts.0" 2>/dev/null | wc -l)" -gt "$before0" ] &&
                [ "$(cat "$FAKE_OUT/starts.1" 2>/dev/null | wc -l)" -gt "$before1" ] && break
            sleep 0.1
        done
        sleep 1.5 # the job must outlive FUSE2_MIN_RUNTIME=1 to be resubmitted
        kill -"$sig" "$pid"
    fi
    wait "$pid"
    echo $? >"$work/rc"
}

reset
slurm_run signal USR1
check "slurm: SIGUSR1 reaches both ranks through mpirun" [ "$(wc -l <"$work/out/usr1")" -eq 2 ]
check "slurm: exit 0" [ "$(cat "$work/rc")" -eq 0 ]
check "slurm: resubmitted after the job, count 1" contains "$work/out/submitted" \
    "--dependency=afterany:4242 --export=ALL,FUSE2_RESUBMIT_COUNT=1,FUSE2_JOBSCRIPT=$slurm $slurm $work/campaign.yaml"
slurm_run signal USR1 FUSE2_RESUBMIT_COUNT=1
check "slurm: second job continues (10 -> 20 relaxations) and resubmits with count 2" \
    contains "$work/out/submitted" "FUSE2_RESUBMIT_COUNT=2"
check "slurm: the log shows the progress" contains "$work/log" "10 -> 20 relaxations"

reset
slurm_run finish ""
check "slurm: finished campaign is not resubmitted" absent "$work/out/submitted"
check "slurm: finished campaign logged" contains "$work/log" "campaign finished (100 relaxations)"
slurm_run finish ""
check "slurm: an already finished campaign does not start fuse2-mpi again" \
    [ "$(wc -l <"$work/out/starts.0")" -eq 1 ]

reset
slurm_run fail ""
check "slurm: failing fuse2-mpi: exit status passed on" [ "$(cat "$work/rc")" -ne 0 ]
check "slurm: failing fuse2-mpi: not resubmitted" absent "$work/out/submitted"

reset
slurm_run signal USR1 FUSE2_RESUBMIT_COUNT=20
check "slurm: FUSE2_MAX_RESUBMITS stops the chain" absent "$work/out/submitted"
check "slurm: ... and says so" contains "$work/log" "FUSE2_MAX_RESUBMITS (20) reached"

reset
slurm_run signal TERM
check "slurm: SIGTERM (scancel) stops fuse2-mpi cleanly" [ "$(wc -l <"$work/out/usr1")" -eq 2 ]
check "slurm: SIGTERM: not resubmitted" absent "$work/out/submitted"

reset
touch "$work/out/stop.txt"
slurm_run signal USR1
check "slurm: stop file: not resubmitted" absent "$work/out/submitted"

reset
slurm_run signal USR1 FUSE2_MIN_RUNTIME=100
check "slurm: a job shorter than FUSE2_MIN_RUNTIME is not resubmitted" absent "$work/out/submitted"

reset
slurm_run finish "" FAKE_CHECK_FAIL=1
check "slurm: invalid campaign: exit 1" [ "$(cat "$work/rc")" -eq 1 ]
check "slurm: invalid campaign: fuse2-mpi never started" absent "$work/out/starts.0"

# ---- PBS: the script's own timer sends USR1 at walltime - margin ----
pbs_run() { # mode, extra env...
    local mode=$1
    shift
    local t0
    t0=$(date +%s)
    env "${common_env[@]}" FUSE2_QSUB=submit PBS_O_WORKDIR="$work" PBS_JOBID=77.pbs \
        CAMPAIGN_YAML=campaign.yaml FUSE2_JOBSCRIPT="$pbs" FAKE_MODE="$mode" "$@" \
        bash "$pbs" >"$work/log" 2>&1
    echo $? >"$work/rc"
    echo $(($(date +%s) - t0)) >"$work/seconds"
}

reset
pbs_run signal FUSE2_WALLTIME=00:00:06 FUSE2_SIGNAL_MARGIN=3
check "pbs: timer fires at walltime - margin (about 3 s)" between "$(cat "$work/seconds")" 3 5
check "pbs: SIGUSR1 reaches both ranks" [ "$(wc -l <"$work/out/usr1")" -eq 2 ]
check "pbs: resubmitted with dependency and count 1" contains "$work/out/submitted" \
    "-V -W depend=afterany:77.pbs -v FUSE2_RESUBMIT_COUNT=1,CAMPAIGN_YAML=campaign.yaml,FUSE2_JOBSCRIPT=$pbs $pbs"

reset
pbs_run signal PBS_WALLTIME=5 FUSE2_SIGNAL_MARGIN=2
check "pbs: Torque's PBS_WALLTIME (seconds) is used" contains "$work/log" "walltime 5 s: SIGUSR1 in 3 s"
check "pbs: ... and the campaign resubmitted" contains "$work/out/submitted" "FUSE2_RESUBMIT_COUNT=1"

reset
pbs_run finish FUSE2_WALLTIME=1:00:00
check "pbs: finished campaign is not resubmitted" absent "$work/out/submitted"
check "pbs: a walltime of 1 h gives the signal at 3300 s" contains "$work/log" "walltime 3600 s: SIGUSR1 in 3300 s"
check "pbs: the timer does not outlive the job (script ended in < 10 s)" [ "$(cat "$work/seconds")" -lt 10 ]

reset
pbs_run finish FUSE2_WALLTIME=1:xx
check "pbs: malformed walltime: warned, no timer" contains "$work/log" "walltime unknown"

# ---- end to end: the real fuse2-mpi with the synthetic calculator ----
if [ -n "$real_build" ]; then
    real_build=$(cd "$real_build" && pwd) || exit 1
    e2e="$work/e2e"
    mkdir -p "$e2e"
    cat >"$e2e/campaign.yaml" <<'YAML'
composition: {Sr: 1, Ti: 1, O: 3}
max_atoms: 20
imax_atoms: 10
seed: 5
initial_gen: 6
walkers: 6
iterations: 40
write_all_structures: false
calculator:
  name: synthetic
  cost_mean: 0.5
YAML
    e2e_job() { # job number
        env FUSE2_BIN_DIR="$real_build" FUSE2_LAUNCHER="mpirun --oversubscribe -n 4" FUSE2_QSUB=submit \
            FAKE_OUT="$e2e" PBS_O_WORKDIR="$e2e" PBS_JOBID="$1.pbs" CAMPAIGN_YAML=campaign.yaml \
            FUSE2_JOBSCRIPT="$pbs" FUSE2_WALLTIME=8 FUSE2_SIGNAL_MARGIN=3 FUSE2_MIN_RUNTIME=1 \
            FUSE2_RESUBMIT_COUNT=$(($1 - 1)) bash "$pbs" >"$e2e/log.$1" 2>&1
    }
    e2e_job 1
    # 40 relaxations of 0.5 s on 3 workers need about 7 s: the timer stops the first job at 5 s
    check "e2e: first job stopped by the timer through mpirun" contains "$e2e/log.1" "stopped by signal"
    check "e2e: first job resubmitted (inspect --json said finished: false)" \
        contains "$e2e/submitted" "FUSE2_RESUBMIT_COUNT=1"
    e2e_job 2
    check "e2e: second job resumed from the campaign file" contains "$e2e/log.2" "resuming at"
    check "e2e: second job finished the campaign" contains "$e2e/log.2" "campaign finished (40 relaxations)"
    check "e2e: ... and did not resubmit" [ "$(wc -l <"$e2e/submitted")" -eq 1 ]
fi

echo
if [ "$failures" -eq 0 ]; then echo "all job script tests passed"; else echo "$failures job script test(s) failed"; fi
[ "$failures" -eq 0 ]
