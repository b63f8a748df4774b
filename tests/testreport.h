/*
** tests/testreport.h: for the tests that print one line per generated case
** rather than use testlib.h's table: report() prints "PASS|FAIL name: details"
** (tests/run.sh counts them) and counts failures in n_fail; a seeded
** xorshift64* (set TEST_SEED before including) with pick() and uni().
*/
#ifndef TPU_TESTREPORT_H
#define TPU_TESTREPORT_H
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

static int n_fail;
static void report(int ok, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s %s: ", ok ? "PASS" : "FAIL", name);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    n_fail += !ok;
}

static uint64_t rng = TEST_SEED;
static uint64_t next_u64(void) { rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27; return rng * 0x2545F4914F6CDD1Dull; }
static int64_t pick(int64_t lo, int64_t hi) { return lo + (int64_t)(next_u64() % (uint64_t)(hi - lo + 1)); }
static float uni(void) { return (float)((double)(next_u64() >> 11) / 9007199254740992.0 * 2.0 - 1.0); }
#endif
