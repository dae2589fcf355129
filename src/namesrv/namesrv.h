/* SPDX-License-Identifier: Apache-2.0 */
/* namesrv.h: the name server's facade. A struct namesrv is a complete name
 * server (route table, KV config, remoting server, expiry thread); several
 * can run in one process (tests, the broker's --standalone mode).
 *
 * Threads: cfg.io_threads remoting loops run the handlers; one scan thread
 * expires silent brokers. namesrv_start/namesrv_stop are called from one
 * owning thread. Design: docs/design/namesrv.md. */
#ifndef TERN_NAMESRV_NAMESRV_H
#define TERN_NAMESRV_NAMESRV_H

struct namesrv;

struct rtls;

struct namesrv_config {
    const char *bind_host;  /* NULL = any; borrowed for the namesrv_start call */
    int port;               /* 9876 default; 0 = ephemeral */
    int io_threads;         /* default 1 */
    int broker_expire_ms;   /* default 120000 */
    int scan_interval_ms;   /* default 5000 */
    const struct rtls *tls; /* borrowed, outlives the server; NULL = plain (default) */
    int tls_mode;           /* enum rtls_mode, with tls */
};

/* Fills cfg with the defaults above. */
void namesrv_config_defaults(struct namesrv_config *cfg);
/* Starts listening and the threads. OUT: *out, owned, freed by
 * namesrv_stop. Errors: TERN_ECONFIG for out-of-range settings, -errno from
 * bind/listen. */
int namesrv_start(const struct namesrv_config *cfg, struct namesrv **out);
/* The bound port (useful with port 0). */
int namesrv_port(const struct namesrv *ns);
/* Stops the server and threads and frees everything. NULL is a no-op. */
void namesrv_stop(struct namesrv *ns);

#endif
