/* SPDX-License-Identifier: Apache-2.0 */
/* main.c: tern-console, the management Open API service on its own. Reads
 * the Java properties file the broker reads (its own keys, see
 * openapi_config.c), starts the service and waits for SIGTERM/SIGINT. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/error.h"
#include "common/log.h"
#include "openapi/openapi.h"

int main(int argc, char **argv);

static void usage(FILE *f)
{
    fprintf(f, "usage: tern-console [-c FILE] [-p PORT] [-n NAMESRV] [--print-config] [-h]\n"
               "  -c FILE         Java properties file (e.g. the broker's broker.conf)\n"
               "  -p PORT         HTTP port (overrides openApiPort)\n"
               "  -n ADDR         name servers host:port;... (overrides namesrvAddr)\n"
               "  --print-config  print the effective configuration and exit\n"
               "keys:\n");
    buf_t help;
    buf_init(&help);
    config_help(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &help);
    fwrite(help.data, 1, help.len, f);
    buf_deinit(&help);
}

int main(int argc, char **argv)
{
    struct openapi_config cfg;
    memset(&cfg, 0, sizeof cfg);
    char err[512] = "";
    if (config_defaults(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &cfg) != TERN_OK)
        return 2;
    const char *conf = NULL, *port = NULL, *namesrv = NULL;
    bool print = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-c") && i + 1 < argc) {
            conf = argv[++i];
        } else if (!strcmp(a, "-p") && i + 1 < argc) {
            port = argv[++i];
        } else if (!strcmp(a, "-n") && i + 1 < argc) {
            namesrv = argv[++i];
        } else if (!strcmp(a, "--print-config")) {
            print = true;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (conf && config_load_file(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &cfg, conf, NULL, err,
                                 sizeof err) != TERN_OK) {
        fprintf(stderr, "tern-console: %s: %s\n", conf, err[0] ? err : "cannot read");
        return 2;
    }
    if ((port && config_set(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &cfg, "openApiPort", port,
                            err, sizeof err) != TERN_OK) ||
        (namesrv && config_set(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &cfg, "namesrvAddr",
                               namesrv, err, sizeof err) != TERN_OK)) {
        fprintf(stderr, "tern-console: %s\n", err);
        return 2;
    }
    if (print) {
        buf_t b;
        buf_init(&b);
        config_print(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &cfg, &b);
        fwrite(b.data, 1, b.len, stdout);
        buf_deinit(&b);
        config_free_strings(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &cfg);
        return 0;
    }

    /* Block the stop signals before any thread exists, so only sigwait sees them. */
    sigset_t stop_sigs;
    sigemptyset(&stop_sigs);
    sigaddset(&stop_sigs, SIGTERM);
    sigaddset(&stop_sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct openapi *o = NULL;
    int rc = openapi_start(&cfg, &o, err, sizeof err);
    config_free_strings(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &cfg);
    if (rc != TERN_OK) {
        fprintf(stderr, "tern-console: cannot start: %s\n", err[0] ? err : tern_strerror(rc));
        return 1;
    }
    int sig = 0;
    sigwait(&stop_sigs, &sig);
    log_info("openapi", "stopping on signal %d", sig);
    openapi_stop(o);
    return 0;
}
