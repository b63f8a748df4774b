#!/bin/sh
# tests/run.sh BUILD: runs every test program and test script, and adds up their
# "PASS name" / "FAIL name: why" / "SKIP name: why" lines. A program that dies
# without finishing counts as one more failure. Every line goes to
# BUILD/test.log; the skips (first 40) and all failures are printed. Ends with the suite's one line:
#   N passed, N failed[, N skipped]
BUILD=${1:-build}
export TPUSIM="$BUILD/tpusim" BUILD
log="$BUILD/test.log"; : >"$log"
status=0
for t in "$BUILD"/test-*; do
    [ -x "$t" ] || continue
    "$t" >>"$log" 2>&1 || { rc=$?; [ $rc -gt 1 ] && echo "FAIL $t: exited with status $rc" >>"$log"; }
done
for t in tests/cli/*.sh; do
    [ -f "$t" ] || continue
    sh "$t" >>"$log" 2>&1 || { rc=$?; [ $rc -gt 1 ] && echo "FAIL $t: exited with status $rc" >>"$log"; }
done
p=$(grep -c '^PASS ' "$log"); f=$(grep -c '^FAIL ' "$log"); s=$(grep -c '^SKIP ' "$log")
grep -E '^SKIP ' "$log" | head -40
[ "$s" -gt 40 ] && echo "... $((s - 40)) more skipped: the whole log is $log"
grep -E '^FAIL ' "$log"
[ "$f" -eq 0 ] || status=1
echo "$p passed, $f failed, $s skipped"
exit $status
