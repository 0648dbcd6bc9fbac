#!/bin/sh
# TEST-ONLY STAND-IN FOR GULP: this is not GULP. It mimics how GULP is run
# by the "gulp" calculator (`gulp < gulp.gin > gulp.got` in a scratch
# directory) by replaying a real GULP 4.3.5 run recorded in
# ../shared/testdata/gulp/<run>/ (gulp.got as its standard output, temp.res
# copied to the dump file the .gin names). GULP is academic-licensed and not
# in Debian, so tests/test_gulp_driver.c uses this instead.
#
#   sh gulp_standin.sh MODE RUN_DIR < gulp.gin > gulp.got
#
# RUN_DIR: a recorded run (default $FUSE2_GULP_STANDIN_RUN). Modes, for
# fault injection:
#   ok       replay the run (standard output + dump), exit 0
#   exit3    the first 100 lines of the output, then exit 3 (a crash)
#   hang     write a little, then wait 60 s in a child `sleep` (the caller's
#            time limit must kill both; the pids go to standin.pids)
#   garbage  random hexadecimal text instead of GULP's output, exit 0
#   nan      replay, with the final energy printed as NaN
#   enthalpy replay, with "Final energy" printed as "Final enthalpy" (GULP's
#            wording under pressure)
#   delete   no output: removes gulp.got and the dump, exit 0
mode=${1:-ok}
run=${2:-$FUSE2_GULP_STANDIN_RUN}

# GULP reads its whole input first; keep a copy to find the dump name.
cat > standin.gin
dump=$(awk '$1 == "dump" { name = $2 } END { print name }' standin.gin)

replay_dump() {
    if [ -n "$dump" ] && [ -f "$run/temp.res" ]; then cp "$run/temp.res" "$dump"; fi
}

case $mode in
ok)
    cat "$run/gulp.got"
    replay_dump
    ;;
exit3)
    head -n 100 "$run/gulp.got"
    exit 3
    ;;
hang)
    head -n 20 "$run/gulp.got"
    sleep 60 &
    echo "$! $$" > standin.pids
    wait
    ;;
garbage)
    od -An -tx1 -N 4096 /dev/urandom
    ;;
nan)
    sed 's/\(Final energy = *\)[-+0-9.Ee]*/\1NaN/' "$run/gulp.got"
    replay_dump
    ;;
enthalpy)
    sed 's/Final energy =/Final enthalpy =/' "$run/gulp.got"
    replay_dump
    ;;
delete)
    rm -f gulp.got "$dump"
    ;;
*)
    echo "gulp_standin.sh: unknown mode '$mode'" >&2
    exit 64
    ;;
esac
exit 0
