#!/bin/sh
# tests/run.sh BUILD: runs every test program and test script, and adds up their
# "PASS name" / "FAIL name: why" / "SKIP name: why" lines. A program that dies
# without finishing counts as one more failure. Ends with the suite's one line:
#   N passed, N failed[, N skipped]
BUILD=${1:-build}
export TPUSIM="$BUILD/tpusim" BUILD
log=$(mktemp); trap 'rm -f "$log"' EXIT
status=0
for t in "$BUILD"/test-*; do
    [ -x "$t" ] || continue
    "$t" >>"$log" 2>&1 || { rc=$?; [ $rc -gt 1 ] && echo "FAIL $t: exited with status $rc" >>"$log"; }
done
for t in tests/cli/*.sh; do
    [ -f "$t" ] || continue
    sh "$t" >>"$log" 2>&1 || { rc=$?; [ $rc -gt 1 ] && echo "FAIL $t: exited with status $rc" >>"$log"; }
done
grep -E '^(FAIL|SKIP) ' "$log" | head -200
p=$(grep -c '^PASS ' "$log"); f=$(grep -c '^FAIL ' "$log"); s=$(grep -c '^SKIP ' "$log")
[ "$f" -eq 0 ] || status=1
echo "$p passed, $f failed, $s skipped"
exit $status
