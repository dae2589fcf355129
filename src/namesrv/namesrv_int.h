/* SPDX-License-Identifier: Apache-2.0 */
/* namesrv_int.h: the name server object, shared by namesrv.c (lifecycle,
 * expiry thread, connection-close hook) and processor.c (request handlers).
 * Private to src/namesrv/. */
#ifndef TERN_NAMESRV_NAMESRV_INT_H
#define TERN_NAMESRV_NAMESRV_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "namesrv/kvconfig.h"
#include "namesrv/namesrv.h"
#include "namesrv/routes.h"
#include "remoting/remoting.h"

struct namesrv {
    struct namesrv_config cfg; /* copy; cfg.bind_host is NULLed (not kept) */
    struct routes *routes;     /* owned; internally locked */
    struct kvconfig *kv;       /* owned; internally locked */
    struct rserver *server;    /* owned */
    pthread_t scan_thread;
    bool scan_started;
    pthread_mutex_t scan_mu; /* guards stopping; with scan_cv wakes the scan thread */
    pthread_cond_t scan_cv;
    bool stopping;
    atomic_bool closing; /* set before the server stops: close hooks then do nothing */
};

/* The dispatch table of every request code the name server answers. */
const struct rprocessor *namesrv_processors(size_t *n);

#endif
