/* SPDX-License-Identifier: Apache-2.0 */
/* main.c: mqnamesrv, the name server process. Parses arguments (and an
 * optional Java properties file, through common/config's option table),
 * starts a struct namesrv and waits for SIGTERM/SIGINT, then stops it
 * cleanly and exits 0. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/error.h"
#include "common/log.h"
#include "namesrv/namesrv.h"

int main(int argc, char **argv);

/* The properties-file keys we read (RocketMQ names where one exists). The
 * defaults match namesrv_config_defaults(). */
static const struct config_opt g_opts[] = {
    {"listenPort", CFG_INT, offsetof(struct namesrv_config, port), "9876", 0, 65535, NULL,
     "TCP port to listen on (0 = ephemeral)"},
    {"serverSelectorThreads", CFG_INT, offsetof(struct namesrv_config, io_threads), "1", 1, 64,
     NULL, "I/O loop threads"},
    {"brokerExpireMs", CFG_INT, offsetof(struct namesrv_config, broker_expire_ms), "120000", 1,
     1 << 30, NULL, "drop a broker silent for this long"},
    {"scanNotActiveBrokerInterval", CFG_INT, offsetof(struct namesrv_config, scan_interval_ms),
     "5000", 1, 1 << 30, NULL, "how often to look for silent brokers (ms)"},
};
#define NOPTS (sizeof g_opts / sizeof g_opts[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: mqnamesrv [-c FILE] [-p|--port PORT] [-h|--help]\n"
               "  -c FILE      Java properties file with the keys below\n"
               "  -p, --port   listen port (overrides the file)\n"
               "keys:\n");
    buf_t help;
    buf_init(&help);
    config_help(g_opts, NOPTS, &help);
    fwrite(help.data, 1, help.len, f);
    buf_deinit(&help);
}

static int parse_port(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 0 || v > 65535)
        return -1;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    struct namesrv_config cfg;
    namesrv_config_defaults(&cfg);
    const char *conf = NULL;
    int port = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-c") && i + 1 < argc) {
            conf = argv[++i];
        } else if ((!strcmp(a, "-p") || !strcmp(a, "--port")) && i + 1 < argc) {
            if (parse_port(argv[++i], &port) != 0) {
                fprintf(stderr, "bad port: %s\n", argv[i]);
                return 2;
            }
        } else {
            usage(stderr);
            return 2;
        }
    }
    char err[256] = "";
    if (conf && config_load_file(g_opts, NOPTS, &cfg, conf, NULL, err, sizeof err) != TERN_OK) {
        fprintf(stderr, "mqnamesrv: %s: %s\n", conf, err[0] ? err : "cannot read");
        return 2;
    }
    if (port >= 0)
        cfg.port = port;

    /* Block the stop signals before any thread exists, so only sigwait sees them. */
    sigset_t stop_sigs;
    sigemptyset(&stop_sigs);
    sigaddset(&stop_sigs, SIGTERM);
    sigaddset(&stop_sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct namesrv *ns;
    int rc = namesrv_start(&cfg, &ns);
    if (rc != TERN_OK) {
        fprintf(stderr, "mqnamesrv: cannot start on port %d: %s\n", cfg.port, tern_strerror(rc));
        return 1;
    }
    log_info("namesrv", "name server listening on %s:%d", cfg.bind_host ? cfg.bind_host : "0.0.0.0",
             namesrv_port(ns));
    int sig = 0;
    sigwait(&stop_sigs, &sig);
    log_info("namesrv", "stopping on signal %d", sig);
    namesrv_stop(ns);
    return 0;
}
