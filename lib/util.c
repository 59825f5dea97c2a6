/* util.c - file and hex helpers (see include/livepatch/util.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "livepatch/util.h"

bool lp_same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    if (!strcmp(a, b))
        return true;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int lp_read_file(const char *path, unsigned char **buf, size_t *len, struct lp_error *err)
{
    struct stat st;
    size_t done = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return lp_error_set(err, LP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return lp_error_set(err, LP_ERR_IO, "%s: not a regular file", path);
    }
    *len = (size_t)st.st_size;
    *buf = malloc(*len ? *len : 1);
    if (!*buf) {
        close(fd);
        return lp_error_set(err, LP_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, *len);
    }
    while (done < *len) {
        ssize_t n = read(fd, *buf + done, *len - done);
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            free(*buf);
            *buf = NULL;
            return lp_error_set(err, LP_ERR_IO, "%s: read failed: %s", path, strerror(e));
        }
        done += (size_t)n;
    }
    close(fd);
    return 0;
}

int lp_create_temp(const char *path, char *tmp, size_t tmpsize, struct lp_error *err)
{
    int fd;

    if ((size_t)snprintf(tmp, tmpsize, "%s.tmp.XXXXXX", path) >= tmpsize)
        return lp_error_set(err, LP_ERR_INVALID, "%s: path too long", path);
    fd = mkstemp(tmp);
    if (fd < 0)
        return lp_error_set(err, LP_ERR_IO, "%s: cannot create temporary file: %s", path,
                            strerror(errno));
    return fd;
}

void lp_abort_file(int fd, const char *tmp)
{
    if (fd >= 0)
        close(fd);
    unlink(tmp);
}

int lp_commit_file(int fd, const char *tmp, const char *path, mode_t mode, struct lp_error *err)
{
    if (fchmod(fd, mode) < 0 || close(fd) < 0) {
        int e = errno;
        unlink(tmp);
        return lp_error_set(err, LP_ERR_IO, "%s: cannot finish writing: %s", path, strerror(e));
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return lp_error_set(err, LP_ERR_IO, "%s: cannot rename into place: %s", path,
                            strerror(e));
    }
    return 0;
}

int lp_write_file(const char *path, const void *buf, size_t len, mode_t mode,
                  struct lp_error *err)
{
    char tmp[4096];
    size_t done = 0;
    int fd = lp_create_temp(path, tmp, sizeof(tmp), err);

    if (fd < 0)
        return -1;
    while (done < len) {
        ssize_t n = write(fd, (const char *)buf + done, len - done);
        if (n < 0) {
            int e = errno;
            lp_abort_file(fd, tmp);
            return lp_error_set(err, LP_ERR_IO, "%s: write failed: %s", path, strerror(e));
        }
        done += (size_t)n;
    }
    return lp_commit_file(fd, tmp, path, mode, err);
}

void lp_hex(const unsigned char *bytes, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long lp_unhex(const char *hex, unsigned char *out, size_t outmax)
{
    size_t n, i;

    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
        hex += 2;
    n = strlen(hex);
    if (n == 0 || n % 2 || n / 2 > outmax)
        return -1;
    for (i = 0; i < n / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return (long)(n / 2);
}

void lp_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}
