/* SPDX-License-Identifier: Apache-2.0 */
/* log.c: the process-wide log sink (see log.h). The level is the only mutable
 * global; it is atomic. */
#include "common/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int g_level = -1;

static int level_from_env(void)
{
    const char *e = getenv("TERN_LOG");
    if (!e)
        return LOG_INFO;
    if (!strcmp(e, "debug"))
        return LOG_DEBUG;
    if (!strcmp(e, "warn"))
        return LOG_WARN;
    if (!strcmp(e, "error"))
        return LOG_ERROR;
    if (!strcmp(e, "off"))
        return LOG_OFF;
    return LOG_INFO;
}

void log_set_level(enum log_level lvl)
{
    atomic_store(&g_level, (int)lvl);
}

enum log_level log_get_level(void)
{
    int l = atomic_load(&g_level);
    if (l < 0) {
        l = level_from_env();
        atomic_store(&g_level, l);
    }
    return (enum log_level)l;
}

void log_write(enum log_level lvl, const char *subsys, const char *fmt, ...)
{
    if (lvl < log_get_level())
        return;
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char line[1024];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    time_t sec = ts.tv_sec;
    gmtime_r(&sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, names[lvl > 3 ? 3 : lvl], subsys);
    if (n < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
