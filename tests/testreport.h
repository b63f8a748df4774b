/*
** tests/testreport.h: for the tests that print one line per generated case
** rather than use testlib.h's table: report() prints "PASS|FAIL name: details"
** (tests/run.sh counts them) and counts failures in n_fail; with
** testrng.h's seeded numbers (set TEST_SEED before including).
*/
#ifndef TPU_TESTREPORT_H
#define TPU_TESTREPORT_H
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include "testrng.h"

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

#endif
