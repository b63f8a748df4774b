/*
** cli/cli_chip.h: the chip subcommands of `tpusim` (cli/cli_chip.c):
** asm, disasm, sim, chip, and run with --chip NAME|FILE other than "ref".
*/
#ifndef TPU_CLI_CHIP_H
#define TPU_CLI_CHIP_H

/* 1 when argv (as main got it) is a command cli_chip.c handles. */
int tpu_cli_chip_handles(int argc, char **argv);
/* Runs it; returns the process exit code (0 ok, 1 mismatch, 2 error). */
int tpu_cli_chip_main(int argc, char **argv);
/* Usage lines for main's usage(). */
extern const char tpu_cli_chip_usage[];

#endif
