/*
 * files.c - the file-system chores every command of lp-build-helper shares:
 * folders made and removed, lists of paths read sorted and unique.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"
#include "livepatch/util.h"

volatile sig_atomic_t helper_stop_requested;

int helper_make_dirs(char *path)
{
    char *slash;
    int rc;

    if (mkdir(path, 0777) == 0 || errno == EEXIST)
        return 0;
    if (errno != ENOENT || !(slash = strrchr(path, '/')) || slash == path)
        return -1;
    *slash = '\0';
    rc = helper_make_dirs(path);
    *slash = '/';
    if (rc < 0)
        return -1;
    return mkdir(path, 0777) == 0 || errno == EEXIST ? 0 : -1;
}

int helper_make_parent(char *path)
{
    char *slash = strrchr(path, '/');
    int rc;

    if (!slash || slash == path)
        return 0;
    *slash = '\0';
    rc = helper_make_dirs(path);
    *slash = '/';
    return rc;
}

bool helper_is_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p) && errno != ENOENT ? -1 : 0;
}

int helper_remove_tree(const char *path)
{
    if (access(path, F_OK) && errno == ENOENT)
        return 0;
    return nftw(path, remove_one, 32, FTW_DEPTH | FTW_PHYS);
}

int helper_str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void helper_sort_unique(char **v, size_t *n)
{
    size_t i, j;

    if (*n < 2) /* (qsort of an empty, possibly NULL, array is undefined) */
        return;
    qsort(v, *n, sizeof(*v), helper_str_cmp);
    for (i = j = 0; i < *n; i++) {
        if (j && !strcmp(v[j - 1], v[i]))
            free(v[i]);
        else
            v[j++] = v[i];
    }
    *n = j;
}

char **helper_read_lines(const char *cmd, const char *path, size_t *count)
{
    struct lp_error err = { 0 };
    unsigned char *buf;
    size_t len, n = 0;
    char **v, *s, *end, *nl;

    if (lp_read_file(path, &buf, &len, &err) < 0) {
        helper_fail(cmd, "%s", err.msg);
        return NULL;
    }
    v = calloc(len / 2 + 2, sizeof(*v));
    for (s = (char *)buf, end = s + len; v && s < end; s = nl + 1) {
        nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl)
            nl = end;
        if (nl > s && !(v[n++] = strndup(s, (size_t)(nl - s)))) {
            helper_free_lines(v, n);
            v = NULL;
        }
    }
    free(buf);
    if (!v) {
        helper_fail(cmd, "out of memory");
        return NULL;
    }
    helper_sort_unique(v, &n);
    *count = n;
    return v;
}

void helper_free_lines(char **v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}
