/*
 * traps.c - what the hypervisor does with its bug frames and exception table.
 *
 * A ud2 planted by WARN_ON/BUG_ON raises SIGILL here; the handler finds its
 * record in .bug_frames.N and reports "WARN at file:line" (then continues after
 * the ud2) or "BUG at file:line" (then stops).  A fault on a recorded
 * instruction (SIGSEGV) resumes at its .ex_table continuation.  The tables are
 * found through the image's own section headers, as a static, non-PIE image is
 * mapped at the addresses they give.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

#include <xen/lib.h>

struct table {
    const int *start;
    unsigned long words;
};

static struct table bug_tables[3], ex_table;

/* Same name as the one in common/domctl.c: only the file tells them apart. */
static noinline int check_permission(unsigned int cmd)
{
    return cmd < 3;
}

static long sext24(long v)
{
    v &= 0xffffff;
    return v & 0x800000 ? v - 0x1000000 : v;
}

static void on_sigill(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    unsigned long rip = (unsigned long)uc->uc_mcontext.gregs[REG_RIP];
    int type;

    (void)sig;
    (void)si;
    for (type = 1; type <= 2; type++) {
        const int *f = bug_tables[type].start;
        unsigned long i;

        for (i = 0; f && i + 1 < bug_tables[type].words; i += 2) {
            long d0 = sext24(f[i]), d1 = sext24(f[i + 1]);
            unsigned long loc = (unsigned long)&f[i] + d0;
            const char *file = (const char *)&f[i] + d1;
            /* The line bits were added on top of the displacement: subtract it back out. */
            unsigned int hi = (unsigned int)((unsigned int)f[i] - (unsigned int)d0) >> 24;
            unsigned int lo = (unsigned int)((unsigned int)f[i + 1] - (unsigned int)d1) >> 24;
            unsigned int line = (hi & 0x7f) << 7 | (lo & 0x7f);

            if (loc != rip)
                continue;
            printk("%s at %s:%u\n", type == 1 ? "WARN" : "BUG", file, line);
            if (type == 2)
                _exit(3);
            uc->uc_mcontext.gregs[REG_RIP] += 2;
            return;
        }
    }
    printk("unexpected invalid opcode at %#lx\n", rip);
    _exit(4);
}

static void on_sigsegv(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    unsigned long rip = (unsigned long)uc->uc_mcontext.gregs[REG_RIP], i;
    const int *e = ex_table.start;

    (void)sig;
    (void)si;
    for (i = 0; e && i + 1 < ex_table.words; i += 2)
        if ((unsigned long)&e[i] + e[i] == rip) {
            uc->uc_mcontext.gregs[REG_RIP] = (long)((unsigned long)&e[i + 1] + e[i + 1]);
            return;
        }
    printk("fatal page fault at %#lx\n", rip);
    _exit(5);
}

/* Find the special sections through our own section headers. */
static void find_tables(void)
{
    int fd = open("/proc/self/exe", O_RDONLY);
    struct stat st;
    const unsigned char *map;
    const Elf64_Ehdr *eh;
    const Elf64_Shdr *sh;
    const char *names;
    unsigned int i;

    if (fd < 0 || fstat(fd, &st) < 0)
        return;
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return;
    eh = (const Elf64_Ehdr *)map;
    sh = (const Elf64_Shdr *)(map + eh->e_shoff);
    names = (const char *)map + sh[eh->e_shstrndx].sh_offset;
    for (i = 1; i < eh->e_shnum; i++) {
        const char *n = names + sh[i].sh_name;
        struct table t = { (const int *)sh[i].sh_addr, sh[i].sh_size / 4 };

        if (!strcmp(n, ".bug_frames.1"))
            bug_tables[1] = t;
        else if (!strcmp(n, ".bug_frames.2"))
            bug_tables[2] = t;
        else if (!strcmp(n, ".ex_table"))
            ex_table = t;
    }
    munmap((void *)map, (size_t)st.st_size);
}

void __init trap_init(void)
{
    struct sigaction sa;

    find_tables();
    memset(&sa, 0, sizeof(sa));
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sa.sa_sigaction = on_sigill;
    sigaction(SIGILL, &sa, NULL);
    sa.sa_sigaction = on_sigsegv;
    sigaction(SIGSEGV, &sa, NULL);
}

int trap_permitted(unsigned int cmd)
{
    return check_permission(cmd);
}

@@LPFUZZ@@
/*
 * traps.c - what the hypervisor does with its bug frames and exception table.
 *
 * A ud2 planted by WARN_ON/BUG_ON raises SIGILL here; the handler finds its
 * record in .bug_frames.N and reports "WARN at file:line" (then continues after
 * the ud2) or "BUG at file:line" (then stops).  A fault on a recorded
 * instruction (SIGSEGV) resumes at its .ex_table continuation.  The tables are
 * found through the image's own section headers, as a static, non-PIE image is
 * mapped at the addresses they give.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

#include <xen/lib.h>

struct table {
    const int *start;
    unsigned long words;
};

static struct table bug_tables[3], ex_table;

/* Same name as the one in common/domctl.c: only the file tells them apart. */
static noinline int check_permission(unsigned int cmd)
{
    return cmd < 3;
}

static long sext24(long v)
{
    v &= 0xffffff;
    return v & 0x800000 ? v - 0x1000000 : v;
}

static void on_sigill(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    unsigned long rip = (unsigned long)uc->uc_mcontext.gregs[REG_RIP];
    int type;

    (void)sig;
    (void)si;
    for (type = 1; type <= 2; type++) {
        const int *f = bug_tables[type].start;
        unsigned long i;

        for (i = 0; f && i + 1 < bug_tables[type].words; i += 2) {
            long d0 = sext24(f[i]), d1 = sext24(f[i + 1]);
            unsigned long loc = (unsigned long)&f[i] + d0;
            const char *file = (const char *)&f[i] + d1;
            /* The line bits were added on top of the displacement: subtract it back out. */
            unsigned int hi = (unsigned int)((unsigned int)f[i] - (unsigned int)d0) >> 24;
            unsigned int lo = (unsigned int)((unsigned int)f[i + 1] - (unsigned int)d1) >> 24;
            unsigned int line = (hi & 0x7f) << 7 | (lo & 0x7f);

            if (loc != rip)
                continue;
            printk("%s at %s:%u\n", type == 1 ? "WARN" : "BUG", file, line);
            if (type == 2)
                _exit(3);
            uc->uc_mcontext.gregs[REG_RIP] += 2;
            return;
        }
    }
    printk("(XEN) unexpected invalid opcode at %#lx\n", rip);
    _exit(4);
}

static void on_sigsegv(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    unsigned long rip = (unsigned long)uc->uc_mcontext.gregs[REG_RIP], i;
    const int *e = ex_table.start;

    (void)sig;
    (void)si;
    for (i = 0; e && i + 1 < ex_table.words; i += 2)
        if ((unsigned long)&e[i] + e[i] == rip) {
            uc->uc_mcontext.gregs[REG_RIP] = (long)((unsigned long)&e[i + 1] + e[i + 1]);
            return;
        }
    printk("fatal page fault at %#lx\n", rip);
    _exit(5);
}

/* Find the special sections through our own section headers. */
static void find_tables(void)
{
    int fd = open("/proc/self/exe", O_RDONLY);
    struct stat st;
    const unsigned char *map;
    const Elf64_Ehdr *eh;
    const Elf64_Shdr *sh;
    const char *names;
    unsigned int i;

    if (fd < 0 || fstat(fd, &st) < 0)
        return;
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return;
    eh = (const Elf64_Ehdr *)map;
    sh = (const Elf64_Shdr *)(map + eh->e_shoff);
    names = (const char *)map + sh[eh->e_shstrndx].sh_offset;
    for (i = 1; i < eh->e_shnum; i++) {
        const char *n = names + sh[i].sh_name;
        struct table t = { (const int *)sh[i].sh_addr, sh[i].sh_size / 4 };

        if (!strcmp(n, ".bug_frames.1"))
            bug_tables[1] = t;
        else if (!strcmp(n, ".bug_frames.2"))
            bug_tables[2] = t;
        else if (!strcmp(n, ".ex_table"))
            ex_table = t;
    }
    munmap((void *)map, (size_t)st.st_size);
}

void __init trap_init(void)
{
    struct sigaction sa;

    find_tables();
    memset(&sa, 0, sizeof(sa));
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sa.sa_sigaction = on_sigill;
    sigaction(SIGILL, &sa, NULL);
    sa.sa_sigaction = on_sigsegv;
    sigaction(SIGSEGV, &sa, NULL);
}

int trap_permitted(unsigned int cmd)
{
    return check_permission(cmd);
}
