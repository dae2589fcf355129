/* SPDX-License-Identifier: Apache-2.0 */
/* mqbroker.c: the mqbroker binary: parse arguments, load the config, start
 * the broker (and, with --standalone, an embedded name server and the Open
 * API, console.h), wait for SIGTERM/SIGINT, stop cleanly, exit 0. Everything
 * else is in the libraries; src/app is the one place that composes them. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/console.h"
#include "broker/broker.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/log.h"
#include "namesrv/namesrv.h"
#include "openapi/openapi.h"
#include "remoting/remoting.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: mqbroker [-c FILE] [-n NAMESRV_ADDR] [--standalone] [--namesrv-port N]\n"
               "                [-p] [--help]\n"
               "  -c FILE          broker.conf (Java properties, RocketMQ key names)\n"
               "  -n ADDR          name servers, host:port;host:port\n"
               "  --standalone     run an embedded name server and the Open API in this\n"
               "                   process (openApiEnable=false: no Open API)\n"
               "  --namesrv-port N port of the embedded name server (default 9876)\n"
               "  -p               print the effective configuration and exit\n"
               "  --help           this text and every config key\n");
}

static int fail_config(const char *what, const char *err)
{
    fprintf(stderr, "mqbroker: %s: %s\n", what, err);
    return 2;
}

int main(int argc, char **argv)
{
    struct broker_config cfg;
    broker_config_init(&cfg);
    const char *conf = NULL, *ns_arg = NULL, *ns_port_arg = NULL;
    bool print = false, standalone = false;
    char err[256];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            buf_t b;
            buf_init(&b);
            broker_config_help(&b);
            printf("\nconfig keys:\n%.*s", (int)b.len, (const char *)b.data);
            buf_deinit(&b);
            return 0;
        } else if (strcmp(a, "-c") == 0 && i + 1 < argc) {
            conf = argv[++i];
        } else if (strcmp(a, "-n") == 0 && i + 1 < argc) {
            ns_arg = argv[++i];
        } else if (strcmp(a, "--namesrv-port") == 0 && i + 1 < argc) {
            ns_port_arg = argv[++i];
        } else if (strcmp(a, "--standalone") == 0) {
            standalone = true;
        } else if (strcmp(a, "-p") == 0) {
            print = true;
        } else {
            usage(stderr);
            return 2;
        }
    }
    int unknown = 0;
    if (conf && broker_config_load(&cfg, conf, &unknown, err, sizeof err) != TERN_OK)
        return fail_config(conf, err);
    if (unknown)
        log_warn("broker", "%s: %d unknown keys ignored", conf, unknown);
    if (ns_arg && broker_config_set(&cfg, "namesrvAddr", ns_arg, err, sizeof err) != TERN_OK)
        return fail_config("-n", err);
    if (ns_port_arg &&
        broker_config_set(&cfg, "namesrvPort", ns_port_arg, err, sizeof err) != TERN_OK)
        return fail_config("--namesrv-port", err);
    if (standalone)
        cfg.standalone = true;
    /* Standalone: register with our own name server unless told otherwise. */
    if (cfg.standalone && !ns_arg && (!cfg.namesrv_addr || !*cfg.namesrv_addr || ns_port_arg)) {
        char addr[64];
        snprintf(addr, sizeof addr, "127.0.0.1:%d", cfg.namesrv_port);
        broker_config_set(&cfg, "namesrvAddr", addr, err, sizeof err);
    }
    if (print) {
        buf_t b;
        buf_init(&b);
        broker_config_print(&cfg, &b);
        fwrite(b.data, 1, b.len, stdout);
        buf_deinit(&b);
        broker_config_deinit(&cfg);
        return 0;
    }

    /* Block the stop signals before any thread starts so only sigwait sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct namesrv *ns = NULL;
    struct rtls *ns_tls = NULL; /* owned: the embedded name server's TLS context */
    if (cfg.standalone) {
        struct namesrv_config nc;
        namesrv_config_defaults(&nc);
        nc.port = cfg.namesrv_port;
        /* Same tlsMode as the broker port, as a Java name server started with
         * the same TlsSystemConfig: TLS clients use TLS for every address. */
        char tls_err[256];
        int rc = broker_config_tls(&cfg, &ns_tls, &nc.tls_mode, tls_err, sizeof tls_err);
        if (rc != TERN_OK) {
            fprintf(stderr, "mqbroker: %s\n", tls_err);
            broker_config_deinit(&cfg);
            return 1;
        }
        nc.tls = ns_tls;
        rc = namesrv_start(&nc, &ns);
        if (rc != TERN_OK) {
            fprintf(stderr, "mqbroker: name server cannot listen on port %d: %s\n",
                    cfg.namesrv_port, tern_strerror(rc));
            rtls_free(ns_tls);
            broker_config_deinit(&cfg);
            return 1;
        }
        log_info("namesrv", "name server listening on 0.0.0.0:%d", namesrv_port(ns));
    }
    struct broker *b = NULL;
    int rc = broker_start(&cfg, &b);
    if (rc != TERN_OK) {
        fprintf(stderr, "mqbroker: cannot start broker: %s\n", tern_strerror(rc));
        namesrv_stop(ns);
        rtls_free(ns_tls);
        broker_config_deinit(&cfg);
        return 1;
    }
    log_info("broker", "broker %s registers with name servers %s", cfg.broker_name,
             cfg.namesrv_addr && *cfg.namesrv_addr ? cfg.namesrv_addr : "(none)");
    struct openapi *console = NULL;
    if (cfg.standalone && cfg.openapi_enable)
        console = console_embed_start(conf, cfg.store_root, cfg.namesrv_addr);
    int sig = 0;
    sigwait(&set, &sig);
    log_info("broker", "signal %d: shutting down", sig);
    openapi_stop(console);
    broker_stop(b);
    namesrv_stop(ns);
    rtls_free(ns_tls);
    broker_config_deinit(&cfg);
    return 0;
}
