# tests/cli/lib.sh: sourced by the tests/cli/*.sh scripts (not run on its own:
# it prints nothing). Gives them $T (the tpusim binary from $TPUSIM), a scratch
# directory $tmp removed at exit, and
#   expect NAME CODE PATTERN CMD...   runs CMD, checks its exit code and that
#                                     stdout+stderr match the grep -E PATTERN
# printing PASS/FAIL/SKIP lines like the C tests. A run that stops on a kernel
# not implemented yet is a SKIP, not a PASS.
T=${TPUSIM:-build/tpusim}
M=tests/models
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
expect() {
    name=$1 code=$2 pattern=$3
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    cat "$tmp/out" "$tmp/err" >"$tmp/all"
    if [ "$got" -ne 0 ] && grep -q "not implemented" "$tmp/err"; then
        echo "SKIP $name: $(head -c 200 "$tmp/err" | tr '\n' ' ')"
        return 2
    fi
    if [ "$got" -ne "$code" ]; then
        fail "$name" "exit $got, expected $code: $(head -c 300 "$tmp/all" | tr '\n' ' ')"
        return 1
    fi
    if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$tmp/all"; then
        fail "$name" "output does not match /$pattern/: $(head -c 300 "$tmp/all" | tr '\n' ' ')"
        return 1
    fi
    pass "$name"
}
# check NAME COND MESSAGE: a PASS/FAIL line from a shell condition string.
check() {
    if eval "$2"; then pass "$1"; else fail "$1" "$3"; fi
}
