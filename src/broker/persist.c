/* SPDX-License-Identifier: Apache-2.0 */
/* persist.c: write-temp + fsync + rename for the broker's config files (see
 * persist.h). */
#include "broker/persist.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/error.h"
#include "common/log.h"
#include "protocol/json.h"

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return TERN_OK;
}

static void fsync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int persist_write(const char *path, tern_bytes_t data)
{
    return persist_write_mode(path, data, 0644);
}

int persist_write_mode(const char *path, tern_bytes_t data, unsigned mode)
{
    char tmp[PATH_MAX], bak[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp ||
        (size_t)snprintf(bak, sizeof bak, "%s.bak", path) >= sizeof bak)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return -errno;
    /* A leftover temp file keeps its old mode through O_TRUNC. */
    int rc = fchmod(fd, (mode_t)mode) == 0 ? TERN_OK : -errno;
    if (rc == TERN_OK)
        rc = write_all(fd, data.ptr, data.len);
    if (rc == TERN_OK && fsync(fd) != 0)
        rc = -errno;
    close(fd);
    if (rc != TERN_OK) {
        unlink(tmp);
        return rc;
    }
    /* Keep the previous version as .bak (a hard link keeps <file> in place, so
     * there is never a moment without a readable <file>). */
    unlink(bak);
    if (link(path, bak) != 0 && errno != ENOENT) {
        /* Not fatal: .bak is only a convenience. */
    }
    if (rename(tmp, path) != 0) {
        rc = -errno;
        unlink(tmp);
        return rc;
    }
    fsync_dir_of(path);
    return TERN_OK;
}

static int read_file(const char *path, buf_t *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? TERN_ENOT_FOUND : -errno;
    size_t start = out->len;
    for (;;) {
        uint8_t *p = buf_reserve(out, 65536);
        ssize_t r = read(fd, p, 65536);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = -errno;
            close(fd);
            out->len = start;
            return e;
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
    }
    close(fd);
    return out->len > start ? TERN_OK : TERN_ENOT_FOUND;
}

/* A *.json file whose content is not a JSON object is treated as damaged. */
static bool json_damaged(const char *path, tern_bytes_t text)
{
    size_t n = strlen(path);
    if (n < 5 || strcmp(path + n - 5, ".json") != 0)
        return false;
    arena_t a;
    arena_init(&a);
    struct json_val *root = NULL;
    bool bad = json_parse(text, &a, &root) != TERN_OK || !root || root->type != JSON_OBJECT;
    arena_deinit(&a);
    return bad;
}

int persist_read(const char *path, buf_t *out)
{
    size_t start = out->len;
    int rc = read_file(path, out);
    char bak[PATH_MAX];
    if ((size_t)snprintf(bak, sizeof bak, "%s.bak", path) >= sizeof bak)
        return rc;
    if (rc == TERN_OK) {
        if (!json_damaged(path, tern_bytes(out->data + start, out->len - start)))
            return rc;
        /* Torn or corrupt: the previous version is better than refusing to
         * start. Keep the damaged content if .bak is no better. */
        buf_t b;
        buf_init(&b);
        if (read_file(bak, &b) == TERN_OK && !json_damaged(path, buf_view(&b))) {
            log_warn("broker", "%s does not parse; using %s.bak", path, path);
            out->len = start;
            buf_append(out, b.data, b.len);
        }
        buf_deinit(&b);
        return TERN_OK;
    }
    int rc2 = read_file(bak, out);
    return rc2 == TERN_OK ? TERN_OK : rc;
}

int persist_mkdirs(const char *dir)
{
    char p[PATH_MAX];
    if ((size_t)snprintf(p, sizeof p, "%s", dir) >= sizeof p)
        return -ENAMETOOLONG;
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return -errno;
            *s = '/';
        }
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return -errno;
    return TERN_OK;
}
