/*
** cli/cli_bench.h: `tpusim bench` and `tpusim run MODEL --chip C --trace FILE`
** (cli/cli_bench.c, over report/bench.h).
*/
#ifndef TPU_CLI_BENCH_H
#define TPU_CLI_BENCH_H

/* 1 when argv (as main got it) is a command cli_bench.c handles. */
int tpu_cli_bench_handles(int argc, char **argv);
/* Runs it; returns the process exit code (0 ok, 2 error). */
int tpu_cli_bench_main(int argc, char **argv);
/* Usage lines for main's usage(). */
extern const char tpu_cli_bench_usage[];

#endif
