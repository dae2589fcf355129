/* SPDX-License-Identifier: Apache-2.0 */
/* example_common.h: what every example shares: properties for a name-server
 * address and group, and failing loudly. Uses only the public API. */
#ifndef TERN_EXAMPLE_COMMON_H
#define TERN_EXAMPLE_COMMON_H

#include <ons/ons.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Prints the exception (if any) and exits with status 1. */
static inline void die(const char *what, ons_exception_t *ex)
{
    fprintf(stderr, "%s failed: %s\n", what, ex ? ons_exception_message(ex) : "(no exception)");
    ons_exception_free(ex);
    exit(1);
}

/* Properties of a client: name server, group and (unchecked here) keys.
 * The caller frees them with ons_properties_free(). */
static inline ons_properties_t *example_props(const char *namesrv, const char *group)
{
    ons_properties_t *p = ons_properties_new();
    if (p == NULL || ons_properties_put(p, ONS_NAMESRV_ADDR, namesrv) != 0 ||
        ons_properties_put(p, ONS_GROUP_ID, group) != 0 ||
        ons_properties_put(p, ONS_ACCESS_KEY, "example-ak") != 0 ||
        ons_properties_put(p, ONS_SECRET_KEY, "example-sk") != 0)
        die("properties", NULL);
    return p;
}

/* Usage: prog NAMESRV_ADDR [TOPIC]. */
static inline void example_args(int argc, char **argv, const char **ns, const char **topic)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s NAMESRV_ADDR [TOPIC]\n", argv[0]);
        exit(2);
    }
    *ns = argv[1];
    *topic = argc > 2 ? argv[2] : "TopicExample";
}

static inline void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#endif
