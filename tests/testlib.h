/*
** tests/testlib.h: the 30-line harness every tests/test-*.c uses.
** Each test is a function in a name→function table; main() runs them all, or
** the ones named on the command line, and prints one line per test:
**   PASS name | FAIL name: why | SKIP name: why
** tests/run.sh adds these lines up into the suite's "N passed, N failed".
*/
#ifndef TPU_TESTLIB_H
#define TPU_TESTLIB_H
#include <stdio.h>
#include <string.h>

struct test_case { const char *name; int (*fn)(void); };   /* fn: 0 pass, 1 fail, 2 skip */
static char test_why[512];
#define TEST_FAIL(...) do { snprintf(test_why, sizeof test_why, __VA_ARGS__); return 1; } while (0)
#define TEST_SKIP(...) do { snprintf(test_why, sizeof test_why, __VA_ARGS__); return 2; } while (0)
#define TEST_CHECK(cond, ...) do { if (!(cond)) { \
    char w_[400]; snprintf(w_, sizeof w_, __VA_ARGS__); \
    snprintf(test_why, sizeof test_why, "%s:%d: %s: %s", __FILE__, __LINE__, #cond, w_); \
    return 1; } } while (0)

static int test_main(const struct test_case *cases, int n_cases, int argc, char **argv)
{
    int n_fail = 0;
    for (int i = 0; i < n_cases; i++) {
        int want = argc <= 1;
        for (int a = 1; a < argc; a++) want |= strstr(cases[i].name, argv[a]) != NULL;
        if (!want) continue;
        test_why[0] = 0;
        int rc = cases[i].fn();
        if (rc == 0) printf("PASS %s\n", cases[i].name);
        else if (rc == 2) printf("SKIP %s: %s\n", cases[i].name, test_why);
        else { printf("FAIL %s: %s\n", cases[i].name, test_why); n_fail++; }
        fflush(stdout);
    }
    return n_fail != 0;
}
#define TEST_MAIN(cases) \
    int main(int argc, char **argv) { return test_main(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv); }
#endif
