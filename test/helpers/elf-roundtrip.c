/*
 * elf-roundtrip: read an object into the model and write it back out.
 * Usage: elf-roundtrip IN.o OUT.o      (used by test/elf.bats)
 */
#include <stdio.h>

#include "livepatch/elf.h"

int main(int argc, char **argv)
{
    struct lp_error err = { 0 };
    struct lpe_object *o;

    if (argc != 3) {
        fprintf(stderr, "usage: elf-roundtrip IN.o OUT.o\n");
        return 2;
    }
    if (lpe_open(argv[1], &o, &err) || lpe_write(o, argv[2], &err)) {
        fprintf(stderr, "elf-roundtrip: %s\n", err.msg);
        return 1;
    }
    lpe_close(o);
    return 0;
}
