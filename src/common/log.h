/* SPDX-License-Identifier: Apache-2.0 */
/* log.h: leveled key=value logging to stderr (the one global sink).
 *
 * log_info("store", "recovered phy_off=%lld", ...). Thread-safe: each line is
 * formatted then written with one write(2). */
#ifndef TERN_COMMON_LOG_H
#define TERN_COMMON_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3, LOG_OFF = 4 };

/* Sets the minimum level printed; default LOG_INFO (env TERN_LOG=debug|info|warn|error|off). */
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_write(enum log_level lvl, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(sub, ...)                         \
    do {                                            \
        if (log_get_level() <= LOG_DEBUG)           \
            log_write(LOG_DEBUG, sub, __VA_ARGS__); \
    } while (0)
#define log_info(sub, ...)  log_write(LOG_INFO, sub, __VA_ARGS__)
#define log_warn(sub, ...)  log_write(LOG_WARN, sub, __VA_ARGS__)
#define log_error(sub, ...) log_write(LOG_ERROR, sub, __VA_ARGS__)

#endif
