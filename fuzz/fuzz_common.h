/*
 * fuzz_common.h - what several fuzz targets share: splitting one input into two
 * (at the first FUZZ_SEP, else in the middle) and a private scratch folder under
 * /dev/shm (or TMPDIR) for the APIs that take paths.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Seeds are written as A FUZZ_SEP B; libFuzzer keeps the separator in its dictionary. */
#define FUZZ_SEP "\n@@LPFUZZ@@\n"
#define FUZZ_SEP_LEN (sizeof(FUZZ_SEP) - 1)

struct fuzz_part {
    const uint8_t *p;
    size_t n;
};

/* Split at the first separator; without one, A is the whole input when half_if_none
 * is 0, else the input is cut in the middle.  Returns whether a separator was found. */
static inline int fuzz_split(const uint8_t *d, size_t n, struct fuzz_part *a,
                             struct fuzz_part *b, int half_if_none)
{
    const uint8_t *s = n >= FUZZ_SEP_LEN ? memmem(d, n, FUZZ_SEP, FUZZ_SEP_LEN) : NULL;

    if (s) {
        a->p = d;
        a->n = (size_t)(s - d);
        b->p = s + FUZZ_SEP_LEN;
        b->n = n - a->n - FUZZ_SEP_LEN;
        return 1;
    }
    a->p = d;
    a->n = half_if_none ? n / 2 : n;
    b->p = d + a->n;
    b->n = n - a->n;
    return 0;
}

static char fuzz_dir[PATH_MAX];

/* At exit: the folder goes (the targets unlink their files after each input). */
static inline void fuzz_scratch_remove(void)
{
    rmdir(fuzz_dir);
}

/* A scratch folder of this process, made once: <dir>/lp-fuzz.<pid>. */
static inline const char *fuzz_scratch(void)
{
    char *dir = fuzz_dir;
    const char *base;

    if (dir[0])
        return dir;
    base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof(fuzz_dir), "%s/lp-fuzz.%d", base, (int)getpid());
    if (mkdir(dir, 0700) && access(dir, W_OK))
        abort();
    atexit(fuzz_scratch_remove);
    return dir;
}

/* Write n bytes to path (aborts on failure: that is the harness, not the code under test). */
static inline void fuzz_write(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f))
        abort();
}
#endif
