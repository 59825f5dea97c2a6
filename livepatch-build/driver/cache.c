/*
 * cache.c - the cache of unpatched builds.  CACHE_ROOT/KEY is a published entry:
 * the unpatched build of a tree (less what later builds never read, cache_trim)
 * and, inside it,
 *   .complete    written last before the entry is published (renamed into place)
 *   .source      the SRCDIR it was built from
 *   .size        its size in KiB, measured when published
 *   .used        when a build last used it (seconds since the epoch, rewritten on
 *                reuse: atime is not reliable, and the folder's mtime does not change)
 * Next to it (outside: a build copying the entry must not meet files that come and go)
 *   .KEY.inuse.PID     build PID is using the entry (removed when that build ends)
 *   .KEY.evicting.PID  PID is about to remove it (see take)
 * .KEY.tmp.PID.XXXXXX is an entry in the making by PID, .KEY.evict.PID.N one being
 * removed by PID.  The list, the clean-up and the size limit read nothing else.
 *
 * A user marks an entry in use, then looks for a remover's mark; a remover marks,
 * then looks for users' marks: so the two never both go ahead.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"
#include "helper.h"
#include "tree.h"

#define CACHE_MAX_DEFAULT "4G"

/* SIZE in KiB, rounded up: N bytes, or N with K, M, G or T, optionally followed by
 * B or iB (1K = 1024).  -1 on anything else. */
static long long parse_size(const char *s)
{
    long long n = 0;
    int digits = 0;
    char u = 0;

    for (; *s >= '0' && *s <= '9'; s++, digits++)
        n = n * 10 + (*s - '0');
    if (!digits || digits > 15)
        return -1;
    if (*s && strchr("kKmMgGtT", *s))
        u = (char)(*s++ & ~0x20);
    if ((*s == 'i' || *s == 'I') && (s[1] == 'b' || s[1] == 'B'))
        s += 2;
    else if (*s == 'b' || *s == 'B')
        s++;
    if (*s)
        return -1;
    switch (u) {
    case 'K': return n;
    case 'M': return n * 1024;
    case 'G': return n * 1024 * 1024;
    case 'T': return n * 1024 * 1024 * 1024;
    default: return (n + 1023) / 1024;
    }
}

/* e.g. 512K, 58.4M, 4.0G */
static void human_size(unsigned long long k, char out[32])
{
    if (k >= 1048576)
        snprintf(out, 32, "%llu.%lluG", k / 1048576, k * 10 / 1048576 % 10);
    else if (k >= 1024)
        snprintf(out, 32, "%llu.%lluM", k / 1024, k * 10 / 1024 % 10);
    else
        snprintf(out, 32, "%lluK", k);
}

void cache_setup(struct lpb *b)
{
    const char *env = getenv("LIVEPATCH_BUILD_CACHE_MAX"), *v;
    long long kb;

    if (b->cache_dir) {
        b->cache_root = strdup(b->cache_dir);
    } else {
        const char *c = getenv("LIVEPATCH_BUILD_CACHE"), *x = getenv("XDG_CACHE_HOME");
        char *p = NULL;

        if (c && *c)
            p = strdup(c);
        else if (x && *x)
            (void)!asprintf(&p, "%s/livepatch-build", x);
        else
            (void)!asprintf(&p, "%s/.cache/livepatch-build", getenv("HOME") ? getenv("HOME") : "");
        if (!p)
            die("out of memory");
        b->cache_root = abspath(p);
        free(p);
    }
    v = b->cache_max ? b->cache_max : env && *env ? env : CACHE_MAX_DEFAULT;
    if ((kb = parse_size(v)) < 0) {
        if (b->cache_max)
            die("--cache-max wants a size such as 500M or 4G, got '%s'", v);
        die("LIVEPATCH_BUILD_CACHE_MAX wants a size such as 500M or 4G, got '%s'", v);
    }
    b->cache_max_kb = (unsigned long long)kb;
    human_size(b->cache_max_kb, b->cache_max_human);
}

/* --- entries and marks ------------------------------------------------------------------ */

static bool is_ours(const char *pid)
{
    return strtol(pid, NULL, 10) == (long)getpid();
}

/* ROOT/.NAME.SUFFIX for entry ROOT/NAME (the marks beside it). */
static char *mark_path(const char *entry, const char *suffix)
{
    const char *slash = strrchr(entry, '/');
    char *p;

    if (asprintf(&p, "%.*s/.%s.%s", (int)(slash - entry), entry, slash + 1, suffix) < 0)
        die("out of memory");
    return p;
}

/* The mark ROOT/.NAME.KIND.PID of this run. */
static char *own_mark(const char *entry, const char *kind)
{
    char suffix[64];

    snprintf(suffix, sizeof(suffix), "%s.%d", kind, (int)getpid());
    return mark_path(entry, suffix);
}

static bool exists(const char *dir, const char *name)
{
    char *p;
    bool r;

    if (asprintf(&p, "%s/%s", dir, name) < 0)
        die("out of memory");
    r = access(p, F_OK) == 0;
    free(p);
    return r;
}

static int write_line(const char *dir, const char *name, const char *fmt, unsigned long long v,
                      const char *s)
{
    char *p;
    FILE *f;
    int rc = -1;

    if (asprintf(&p, "%s/%s", dir, name) < 0)
        die("out of memory");
    if ((f = fopen(p, "w"))) {
        if (s)
            fprintf(f, "%s\n", s);
        else if (fmt)
            fprintf(f, fmt, v);
        rc = fclose(f) ? -1 : 0;
    }
    free(p);
    return rc;
}

static bool read_number(const char *dir, const char *name, unsigned long long *v)
{
    char *p, buf[64], *end;
    FILE *f;
    bool ok = false;

    if (asprintf(&p, "%s/%s", dir, name) < 0)
        die("out of memory");
    if ((f = fopen(p, "r"))) {
        if (fgets(buf, sizeof(buf), f) && buf[0] >= '0' && buf[0] <= '9') {
            *v = strtoull(buf, &end, 10);
            ok = *end == '\n' || !*end;
        }
        fclose(f);
    }
    free(p);
    return ok;
}

/* The pids (space-separated, into a malloc'd string) of running builds using entry d. */
static char *entry_users(const char *d)
{
    char *pat = mark_path(d, "inuse.*"), *users = NULL;
    size_t i, len = 0;
    glob_t g;

    if (glob(pat, GLOB_NOSORT, NULL, &g) == 0) {
        for (i = 0; i < g.gl_pathc; i++) {
            const char *pid = strrchr(g.gl_pathv[i], '.') + 1;
            char *n;

            if (is_ours(pid) || !pid_alive(pid))
                continue;
            n = realloc(users, len + strlen(pid) + 2);
            if (!n)
                die("out of memory");
            users = n;
            len += (size_t)sprintf(users + len, "%s%s", len ? " " : "", pid);
        }
        globfree(&g);
    }
    free(pat);
    return users;
}

/*
 * This run uses entry d: mark it in use (the mark goes at exit) and refresh its last
 * use.  False when the entry is gone, or is being removed.
 */
static bool cache_use(const char *d)
{
    char *inuse = own_mark(d, "inuse"), *pat = mark_path(d, "evicting.*");
    bool complete;
    size_t i;
    glob_t g;
    int fd, waited = 0;

    cleanup_add(inuse);
    if ((fd = open(inuse, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        /* A cache this user may only read: used as it is (nobody with our rights
         * removes entries from it either). */
        char *parent = strdup(d);

        *strrchr(parent, '/') = '\0';
        complete = exists(d, ".complete") && access(parent, W_OK) != 0;
        free(parent);
        free(inuse);
        free(pat);
        return complete;
    }
    close(fd);
    if (glob(pat, GLOB_NOSORT, NULL, &g) == 0) {
        for (i = 0; i < g.gl_pathc; i++) {
            const char *f = g.gl_pathv[i], *pid = strrchr(f, '.') + 1;
            struct timespec ts = { 0, 50000000 };

            /* (a remover decides in microseconds: wait for it rather than race it) */
            while (access(f, F_OK) == 0 && exists(d, ".complete") && pid_alive(pid) &&
                   waited++ < 100)
                nanosleep(&ts, NULL);
        }
        globfree(&g);
    }
    free(inuse);
    free(pat);
    if (!exists(d, ".complete"))
        return false;
    write_line(d, ".used", "%llu\n", (unsigned long long)time(NULL), NULL);
    return true;
}

/* Rename entry d out of the way (*gone = its new name, to be removed), unless a running
 * build uses it.  The rename is atomic: a build looking for the entry then finds none
 * and builds it anew, and one that has marked it in use keeps it. */
static bool take(const struct lpb *b, const char *d, char **gone)
{
    static unsigned taken;
    char *evicting = own_mark(d, "evicting"), *users;
    bool ok = false;
    int fd;

    if ((fd = open(evicting, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        free(evicting);
        return false;
    }
    close(fd);
    if (!(users = entry_users(d))) {
        if (asprintf(gone, "%s/.%s.evict.%d.%u", b->cache_root, strrchr(d, '/') + 1,
                     (int)getpid(), ++taken) < 0)
            die("out of memory");
        ok = rename(d, *gone) == 0;
        if (!ok) {
            free(*gone);
            *gone = NULL;
        }
    }
    free(users);
    /* (after the rename: a user waiting on the mark then finds the entry gone) */
    unlink(evicting);
    free(evicting);
    return ok;
}

/* --- the scan ------------------------------------------------------------------------------- */

struct entry {
    char *dir, *src;
    unsigned long long size, used;
};
struct leftover {
    char *dir, *pid;   /* pid "" when the name has none */
    bool live;
};
struct scan {
    struct entry *e;
    size_t ne;
    struct leftover *l;
    size_t nl;
    struct strv stale;  /* marks of builds that ended without removing theirs */
};

static unsigned long long du_total;
static int du_visit(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)p, (void)flag, (void)ftw;
    du_total += (unsigned long long)st->st_blocks * 512;
    return 0;
}

/* The disk usage of a tree in KiB (du -sk). */
static unsigned long long du_kb(const char *dir)
{
    du_total = 0;
    if (nftw(dir, du_visit, 32, FTW_PHYS) < 0)
        return 0;
    return (du_total + 1023) / 1024;
}

static int entry_cmp_used(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;

    return x->used < y->used ? -1 : x->used > y->used;
}

static void scan(const struct lpb *b, struct scan *s)
{
    DIR *d = opendir(b->cache_root);
    struct dirent *de;

    memset(s, 0, sizeof(*s));
    if (!d)
        return;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        char *p;
        struct stat st;

        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        if (asprintf(&p, "%s/%s", b->cache_root, n) < 0)
            die("out of memory");
        if (n[0] == '.' && (strstr(n, ".inuse.") || strstr(n, ".evicting."))) {
            const char *pid = strrchr(n, '.') + 1;

            if (!is_ours(pid) && !pid_alive(pid))
                strv_push(&s->stale, p);
        } else if (n[0] == '.' && (strstr(n, ".tmp.") || strstr(n, ".evict.")) &&
                   stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            const char *rest = strstr(n, ".tmp.") ? strstr(n, ".tmp.") + 5
                                                  : strstr(n, ".evict.") + 7;
            const char *dot = strchr(rest, '.');
            struct leftover *l = realloc(s->l, (s->nl + 1) * sizeof(*l));
            char pid[32] = "";

            if (!l)
                die("out of memory");
            s->l = l;
            l = &s->l[s->nl++];
            if (dot && dot > rest && (size_t)(dot - rest) < sizeof(pid) &&
                strspn(rest, "0123456789") == (size_t)(dot - rest))
                snprintf(pid, sizeof(pid), "%.*s", (int)(dot - rest), rest);
            l->dir = strdup(p);
            l->pid = strdup(pid);
            /* No owner in the name (an older version's): taken for a live one for an hour. */
            l->live = pid[0] ? pid_alive(pid) : time(NULL) - st.st_mtime < 3600;
        } else if (n[0] != '.' && stat(p, &st) == 0 && S_ISDIR(st.st_mode) &&
                   exists(p, ".complete")) {
            struct entry *e = realloc(s->e, (s->ne + 1) * sizeof(*e));
            char *src = NULL, *srcp = NULL;
            size_t cap = 0;
            FILE *f;

            if (!e)
                die("out of memory");
            s->e = e;
            e = &s->e[s->ne++];
            e->dir = strdup(p);
            /* Entries of an older version: measured now (and the size kept), last use =
             * publication. */
            if (!read_number(p, ".size", &e->size)) {
                e->size = du_kb(p);
                write_line(p, ".size", "%llu\n", e->size, NULL);
            }
            if (!read_number(p, ".used", &e->used)) {
                char *c;

                if (asprintf(&c, "%s/.complete", p) < 0)
                    die("out of memory");
                e->used = stat(c, &st) == 0 ? (unsigned long long)st.st_mtime : 0;
                free(c);
            }
            if (asprintf(&srcp, "%s/.source", p) < 0)
                die("out of memory");
            if ((f = fopen(srcp, "r"))) {
                if (getline(&src, &cap, f) > 0)
                    src[strcspn(src, "\n")] = '\0';
                fclose(f);
            }
            free(srcp);
            e->src = src && *src ? src : strdup("?");
            if (e->src != src)
                free(src);
        }
        free(p);
    }
    closedir(d);
    /* In the order of their names, as a listing shows them. */
    {
        size_t i, j;

        for (i = 1; i < s->ne; i++)
            for (j = i; j > 0 && strcmp(s->e[j - 1].dir, s->e[j].dir) > 0; j--) {
                struct entry t = s->e[j];
                s->e[j] = s->e[j - 1];
                s->e[j - 1] = t;
            }
        for (i = 1; i < s->nl; i++)
            for (j = i; j > 0 && strcmp(s->l[j - 1].dir, s->l[j].dir) > 0; j--) {
                struct leftover t = s->l[j];
                s->l[j] = s->l[j - 1];
                s->l[j - 1] = t;
            }
    }
}

static void scan_free(struct scan *s)
{
    size_t i;

    for (i = 0; i < s->ne; i++) {
        free(s->e[i].dir);
        free(s->e[i].src);
    }
    for (i = 0; i < s->nl; i++) {
        free(s->l[i].dir);
        free(s->l[i].pid);
    }
    free(s->e);
    free(s->l);
    strv_free(&s->stale);
}

static void remove_all(struct strv *gone)
{
    size_t i;
    struct stat st;

    for (i = 0; i < gone->n; i++) {
        if (lstat(gone->v[i], &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode))
            helper_remove_tree(gone->v[i]);
        else
            unlink(gone->v[i]);
    }
}

/* After a new entry is published: remove the least recently used entries (never keep,
 * never one in use) until the cache fits, and what dead builds left behind. */
static void evict(const struct lpb *b, const char *keep)
{
    struct strv gone = { 0 };
    unsigned long long total = 0;
    struct scan s;
    size_t i;

    scan(b, &s);
    for (i = 0; i < s.nl; i++)
        if (!s.l[i].live)
            strv_push(&gone, s.l[i].dir);
    for (i = 0; i < s.ne; i++)
        total += s.e[i].size;
    if (total > b->cache_max_kb) {
        char size[32];

        qsort(s.e, s.ne, sizeof(*s.e), entry_cmp_used);
        for (i = 0; i < s.ne && total > b->cache_max_kb; i++) {
            const char *d = s.e[i].dir;
            char when[32], *to = NULL;
            time_t t = (time_t)s.e[i].used;

            if (!strcmp(strrchr(d, '/') + 1, keep) || !take(b, d, &to))
                continue;
            strv_push(&gone, to);
            free(to);
            total -= s.e[i].size;
            human_size(s.e[i].size, size);
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime(&t));
            msg("cache: evicted %s (%s, last used %s) to stay within %s", strrchr(d, '/') + 1,
                size, when, b->cache_max_human);
        }
        if (total > b->cache_max_kb) {
            human_size(total, size);
            warn("the cache holds %s, over its limit of %s: the rest is in use", size,
                 b->cache_max_human);
        }
    }
    for (i = 0; i < s.stale.n; i++)
        strv_push(&gone, s.stale.v[i]);
    remove_all(&gone);
    strv_free(&gone);
    scan_free(&s);
}

/* --- the commands ------------------------------------------------------------------------- */

static void cache_list(const struct lpb *b)
{
    unsigned long long total = 0;
    struct scan s;
    char size[32];
    size_t i;

    scan(b, &s);
    printf("%-32s %8s  %-19s  %s\n", "KEY", "SIZE", "LAST USED", "SOURCE");
    for (i = 0; i < s.ne; i++) {
        char when[32], *users = entry_users(s.e[i].dir);
        time_t t = (time_t)s.e[i].used;

        total += s.e[i].size;
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
        human_size(s.e[i].size, size);
        printf("%-32s %8s  %-19s  %s", strrchr(s.e[i].dir, '/') + 1, size, when, s.e[i].src);
        if (users)
            printf(" (in use by pid %s)", users);
        putchar('\n');
        free(users);
    }
    for (i = 0; i < s.nl; i++) {
        printf("%s: ", strrchr(s.l[i].dir, '/') + 1);
        if (s.l[i].live && s.l[i].pid[0])
            printf("in the making by pid %s\n", s.l[i].pid);
        else if (s.l[i].live)
            printf("in the making\n");
        else
            printf("left by a build that ended (--cache-clean removes it)\n");
    }
    human_size(total, size);
    printf("total %s in %zu entr%s, limit %s (%s)\n", size, s.ne, s.ne == 1 ? "y" : "ies",
           b->cache_max_human, b->cache_root);
    scan_free(&s);
}

static void cache_clean(const struct lpb *b)
{
    struct strv gone = { 0 };
    unsigned long long freed = 0;
    size_t i, kept = 0;
    struct scan s;
    char size[32];

    scan(b, &s);
    if (!s.ne && !s.nl) {
        printf("nothing to remove in %s\n", b->cache_root);
        scan_free(&s);
        return;
    }
    for (i = 0; i < s.ne; i++) {
        const char *d = s.e[i].dir;
        char *to = NULL;

        human_size(s.e[i].size, size);
        if (take(b, d, &to)) {
            strv_push(&gone, to);
            free(to);
            freed += s.e[i].size;
            printf("removed %s (%s, built from %s)\n", strrchr(d, '/') + 1, size, s.e[i].src);
        } else {
            char *users = entry_users(d);

            printf("kept %s (in use by pid %s)\n", strrchr(d, '/') + 1, users ? users : "?");
            free(users);
            kept++;
        }
    }
    for (i = 0; i < s.nl; i++) {
        const char *n = strrchr(s.l[i].dir, '/') + 1;

        if (s.l[i].live) {
            if (s.l[i].pid[0])
                printf("kept %s (a running build, pid %s)\n", n, s.l[i].pid);
            else
                printf("kept %s (a running build)\n", n);
            kept++;
        } else {
            strv_push(&gone, s.l[i].dir);
            printf("removed %s (left by a build that ended)\n", n);
        }
    }
    for (i = 0; i < s.stale.n; i++)
        strv_push(&gone, s.stale.v[i]);
    remove_all(&gone);
    for (i = 0; i < gone.n; i++)
        if (access(gone.v[i], F_OK) == 0) {
            warn("some of %s could not be removed", b->cache_root);
            break;
        }
    human_size(freed, size);
    printf("%s freed in %s, %zu kept\n", size, b->cache_root, kept);
    strv_free(&gone);
    scan_free(&s);
}

void cache_command(struct lpb *b)
{
    fflush(stdout);
    if (b->cache_cmd == CACHE_CMD_LIST)
        cache_list(b);
    else
        cache_clean(b);
    if (fflush(stdout))
        exit(1);
    exit(0);
}

/* --- the unpatched build ---------------------------------------------------------------------- */

/*
 * Leave out of a new entry what no later build reads.  Builds from it read the
 * sources, the generated headers, the dependency records (.d, .cmd), the objects and
 * xen-syms (the image), and xen/xen is what a user boots; the link products
 * (built_in.o, prelink.o, the intermediate images), xen.efi, xen.gz and the link maps
 * are only ever remade, and a full rebuild from the entry (the fallback) makes them
 * again.
 */
static int trim_visit(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    const char *n = p + ftw->base;

    (void)st;
    if (flag == FTW_F && (!strcmp(n, "built_in.o") || !strcmp(n, "built_in_bin.o")))
        unlink(p);
    return 0;
}

static void cache_trim(const char *tree)
{
    static const char *const top[] = { "prelink*.o", ".xen-syms.[0-9]*", ".xen.efi.[0-9]*",
                                       "xen.efi", "xen.gz", "xen-syms.map", "xen.efi.map",
                                       "System.map" };
    char *x, *pat;
    size_t i, k;
    glob_t g;

    if (asprintf(&x, "%s/xen", tree) < 0)
        die("out of memory");
    for (i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
        if (asprintf(&pat, "%s/%s", x, top[i]) < 0)
            die("out of memory");
        if (glob(pat, GLOB_NOSORT, NULL, &g) == 0) {
            for (k = 0; k < g.gl_pathc; k++)
                unlink(g.gl_pathv[k]);
            globfree(&g);
        }
        free(pat);
    }
    nftw(x, trim_visit, 32, FTW_PHYS);
    free(x);
}

/* The tree's products and version-control data are neither hashed nor copied (see
 * tree.h): the output and cache folders are left out too when inside it. */
static size_t prunes(const struct lpb *b, const char *v[2])
{
    size_t n = 0;

    if (b->out_in_src)
        v[n++] = b->out_in_src;
    if (b->cache_in_src)
        v[n++] = b->cache_in_src;
    return n;
}

/* (v4: entries made before hold the tree's symbolic links as they were, which could
 * lead back into SRCDIR; see "Symbolic links" in docs/livepatch-build.md) */
static char *cache_key(const struct lpb *b)
{
    struct tree_salt salts[8];
    struct lp_error e = { 0 };
    const char *prune[2];
    char *s[6], key[33];
    size_t n = 0, np = prunes(b, prune), i;

    if (asprintf(&s[0], "livepatch-build cache v4 %s", LP_VERSION) < 0 ||
        asprintf(&s[1], "cc=%s", b->real_cc) < 0 || asprintf(&s[2], "cross=%s", b->cross) < 0 ||
        asprintf(&s[3], "date=%s time=%s debug=%s", b->build_date, b->build_time,
                 b->make_debug ? b->make_debug : "") < 0 ||
        asprintf(&s[4], "extra=%s", b->extra_cflags) < 0)
        die("out of memory");
    salts[n++] = (struct tree_salt){ s[0], false };
    salts[n++] = (struct tree_salt){ b->wrapper, true };
    salts[n++] = (struct tree_salt){ s[1], false };
    salts[n++] = (struct tree_salt){ b->cc_version_all, false };
    salts[n++] = (struct tree_salt){ s[2], false };
    salts[n++] = (struct tree_salt){ s[3], false };
    salts[n++] = (struct tree_salt){ s[4], false };
    salts[n++] = (struct tree_salt){ b->config, true };
    if (tree_key(b->srcdir, prune, np, salts, n, key, &e)) {
        fprintf(stderr, "%s: %s\n", PROG, e.msg);
        die("cannot hash %s", b->srcdir);
    }
    for (i = 0; i < 5; i++)
        free(s[i]);
    return strdup(key);
}

void prepare_base(struct lpb *b)
{
    const char *where = b->no_cache ? b->output : b->cache_root;
    char *t, *inuse;

    stage_start("build_original");
    if (b->no_cache) {
        if (asprintf(&b->base, "%s/base", b->tmp) < 0)
            die("out of memory");
        msg("copying %s and building it unpatched (no cache)", b->srcdir);
        build_base_tree(b, b->base, where);
        stage_end();
        return;
    }
    b->cache_key = cache_key(b);
    if (asprintf(&b->base, "%s/%s", b->cache_root, b->cache_key) < 0)
        die("out of memory");
    if (exists(b->base, ".complete") && cache_use(b->base)) {
        msg("unpatched build reused from cache (%s)", b->base);
        stage_end();
        return;
    }
    msg("building the unpatched tree with %ld CPU(s) (cache %s)", b->cpus, b->cache_key);
    {
        char *root = strdup(b->cache_root);

        if (!root || helper_make_dirs(root))
            die("cannot create cache folder %s", b->cache_root);
        free(root);
    }
    /* (the owner's pid in the name: --cache-clean and eviction leave a running build's alone) */
    if (asprintf(&t, "%s/.%s.tmp.%d.*", b->cache_root, b->cache_key, (int)getpid()) < 0)
        die("out of memory");
    cleanup_add(t);
    free(t);
    if (asprintf(&t, "%s/.%s.tmp.%d.XXXXXX", b->cache_root, b->cache_key, (int)getpid()) < 0)
        die("out of memory");
    if (!mkdtemp(t))
        die("cannot create a folder in %s", b->cache_root);
    build_base_tree(b, t, where);

    cache_trim(t);
    if (write_line(t, ".source", NULL, 0, b->srcdir) ||
        write_line(t, ".size", "%llu\n", du_kb(t), NULL) ||
        write_line(t, ".used", "%llu\n", (unsigned long long)time(NULL), NULL) ||
        write_line(t, ".complete", NULL, 0, NULL)) {
        const char *dirs[] = { where };

        write_failed(b, "recording the cache entry", "", dirs, 1);
        die("cannot write into %s", t);
    }
    /* In use from the moment it appears. */
    inuse = own_mark(b->base, "inuse");
    cleanup_add(inuse);
    {
        int fd = open(inuse, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0)
            die("cannot write into %s", b->cache_root);
        close(fd);
    }
    free(inuse);
    /* Publish atomically; another run may have published the same key meanwhile (then
     * that one is used, and ours is private to this run). */
    if (rename(t, b->base) == 0) {
        /* published */
    } else if (exists(b->base, ".complete") && cache_use(b->base)) {
        helper_remove_tree(t);
    } else {
        free(b->base);
        b->base = strdup(t);
    }
    free(t);
    evict(b, b->cache_key);
    stage_end();
}
