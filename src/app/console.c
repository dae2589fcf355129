/* SPDX-License-Identifier: Apache-2.0 */
/* console.c: starts the embedded Open API for a standalone broker (see
 * console.h). */
#include "app/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/error.h"
#include "common/log.h"
#include "openapi/openapi.h"

#define CRED_FILE "credentials.properties"

/* n random characters of [A-Za-z0-9] into out (n + 1 bytes). */
static int random_token(char *out, size_t n)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char raw[64];
    if (n > sizeof raw || getrandom(raw, n, 0) != (ssize_t)n)
        return -EIO;
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[raw[i] % (sizeof alphabet - 1)];
    out[n] = '\0';
    return TERN_OK;
}

/* Writes a fresh key pair to path (0600, created exclusively). */
static int write_credentials(const char *path)
{
    char ak[25], sk[31];
    memcpy(ak, "TERN", 4);
    if (random_token(ak + 4, 20) || random_token(sk, 30))
        return -EIO;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return -errno;
    char text[256];
    int n = snprintf(text, sizeof text,
                     "# The first main account of the embedded Open API, created at first start.\n"
                     "openApiAccessKey=%s\nopenApiSecretKey=%s\nopenApiUserId=1000000000000001\n",
                     ak, sk);
    int rc = write(fd, text, (size_t)n) == n && fsync(fd) == 0 ? TERN_OK : -errno;
    close(fd);
    if (rc)
        unlink(path);
    return rc;
}

struct openapi *console_embed_start(const char *conf_path, const char *store_root,
                                    const char *namesrv_addr)
{
    struct openapi_config cfg;
    memset(&cfg, 0, sizeof cfg);
    char err[512] = "";
    struct openapi *o = NULL;
    char dir[4096], path[4200];
    if (config_defaults(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &cfg) != TERN_OK)
        return NULL;
    char *default_db = cfg.db_path ? strdup(cfg.db_path) : NULL;
    if (conf_path && config_load_file(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &cfg, conf_path,
                                      NULL, err, sizeof err) != TERN_OK) {
        log_error("console", "Open API not started: %s: %s", conf_path, err);
        goto out;
    }
    snprintf(dir, sizeof dir, "%s/console", store_root);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        log_error("console", "Open API not started: cannot create %s: %s", dir, strerror(errno));
        goto out;
    }
    if (namesrv_addr)
        config_set(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &cfg, "namesrvAddr", namesrv_addr,
                   err, sizeof err);
    /* The database lives with the broker's data unless the file says where. */
    if (default_db && cfg.db_path && strcmp(cfg.db_path, default_db) == 0) {
        snprintf(path, sizeof path, "%s/openapi.db", dir);
        config_set(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &cfg, "openApiDbPath", path, err,
                   sizeof err);
    }
    if (!cfg.access_key || !*cfg.access_key) {
        snprintf(path, sizeof path, "%s/" CRED_FILE, dir);
        int rc = access(path, R_OK) == 0 ? TERN_OK : write_credentials(path);
        if (rc == TERN_OK)
            rc = config_load_file(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &cfg, path, NULL, err,
                                  sizeof err);
        if (rc != TERN_OK) {
            log_error("console", "Open API not started: credentials %s: %s", path,
                      err[0] ? err : tern_strerror(rc));
            goto out;
        }
        log_info("console", "Open API account keys are in %s", path);
    }
    if (openapi_start(&cfg, &o, err, sizeof err) != TERN_OK) {
        log_error("console", "Open API not started: %s", err);
        o = NULL;
        goto out;
    }
    log_info("console", "Open API listening on %s:%d", cfg.bind_address, openapi_port(o));
out:
    free(default_db);
    config_free_strings(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &cfg);
    return o;
}
