/*
** cli/main.c: the `tpusim` command. A thin layer over include/tpusim.h: parses
** the command line, calls the library, maps statuses to exit codes
** (0 ok, 1 outputs did not match, 2 bad input or usage).
*/
#include "tpusim.h"
#include "cli_chip.h"     /* chip subcommands: asm, disasm, sim, chip, run --chip NAME */
#include <stdio.h>
#include <string.h>

static int usage(void)
{
    fprintf(stderr,
        "usage: tpusim COMMAND [ARGS]\n"
        "  check MODEL [--json FILE]             what the model is and what tpusim supports\n"
        "  run MODEL --chip ref [options]        run on the reference executor\n");
    fputs(tpu_cli_chip_usage, stderr);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage();
    if (tpu_cli_chip_handles(argc, argv)) return tpu_cli_chip_main(argc, argv);
    fprintf(stderr, "tpusim: unknown command '%s'\n", argv[1]);
    return usage();
}
