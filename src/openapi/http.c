/* SPDX-License-Identifier: Apache-2.0 */
/* http.c: libmicrohttpd glue and the service's life cycle (see openapi.h).
 *
 * libmicrohttpd runs a pool of cfg.threads polling threads; each request is
 * handled on the thread that read it. The raw request URI is captured by the
 * URI-log callback (before libmicrohttpd splits and decodes it), so the query
 * string is parsed by params.c with the spec's form rules. A POST body is
 * collected up to HTTP_MAX_RAW_BYTES; past that the request fails with 400. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "openapi/acl_push.h"
#include "openapi/admin.h"
#include "openapi/api.h"
#include "openapi/dbpool.h"
#include "openapi/pagetask.h"
#include "openapi/stats_poll.h"
#include "protocol/cmd.h"

/* State of one request, created by the URI-log callback. */
struct http_req {
    char *uri;      /* owned: raw request target */
    buf_t body;     /* owned: the POST body collected so far */
    bool started;   /* the header pass has been seen */
    bool too_large; /* body or URI over HTTP_MAX_RAW_BYTES */
};

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    struct http_req *hr = xcalloc(1, sizeof *hr);
    size_t n = strlen(uri);
    if (n > HTTP_MAX_RAW_BYTES + 1024) {
        hr->too_large = true;
        n = 0;
    }
    hr->uri = xstrndup(uri, n);
    buf_init(&hr->body);
    return hr;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct http_req *hr = *req_cls;
    if (!hr)
        return;
    buf_deinit(&hr->body);
    free(hr->uri);
    free(hr);
    *req_cls = NULL;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, buf_t *body)
{
    static const char OOM[] = API_OOM_ENVELOPE;
    struct MHD_Response *resp =
        buf_failed(body)
            ? MHD_create_response_from_buffer(sizeof OOM - 1, (void *)OOM, MHD_RESPMEM_PERSISTENT)
            : MHD_create_response_from_buffer(body->len, body->data, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json;charset=UTF-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (status == 405)
        MHD_add_response_header(resp, "Allow", "GET, POST");
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    (void)url;
    (void)version;
    struct openapi *o = cls;
    struct http_req *hr = *req_cls;
    if (!hr)
        return MHD_NO;
    if (!hr->started) {
        hr->started = true;
        return MHD_YES;
    }
    if (*upload_size) {
        if (hr->body.len + *upload_size > HTTP_MAX_RAW_BYTES)
            hr->too_large = true;
        else
            buf_append(&hr->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    struct api_result res;
    if (hr->too_large) {
        buf_t b;
        buf_init(&b);
        struct api_envelope e = {0};
        e.err = API_BIZ_FIELD_CHECK_INVALID;
        e.dynamic_message = "request too large";
        char rid[37];
        api_new_request_id(rid);
        e.request_id = rid;
        api_envelope_write(&e, &b);
        enum MHD_Result r = reply(conn, 400, &b);
        buf_deinit(&b);
        return r;
    }
    const char *q = strchr(hr->uri, '?');
    size_t plen = q ? (size_t)(q - hr->uri) : strlen(hr->uri);
    tern_bytes_t path = tern_bytes(hr->uri, plen);
    tern_bytes_t query = q ? tern_cstr(q + 1) : tern_bytes(NULL, 0);
    const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    api_process(o, method, path, query, buf_view(&hr->body), ctype, &res);
    enum MHD_Result r = reply(conn, res.http_status, &res.body);
    buf_deinit(&res.body);
    return r;
}

/* ---- life cycle ------------------------------------------------------------- */

/* Parses one "userId:parentUserId:accessKey:secretKey[:flag+flag]" entry. */
static int put_extra_account(sqlite3 *db, char *entry, char *err, size_t errlen)
{
    char *f[5] = {0};
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(entry, ":", &save); t && n < 5; t = strtok_r(NULL, ":", &save))
        f[n++] = t;
    int64_t uid, parent;
    if (n < 4 || parse_i64(tern_cstr(f[0]), &uid) != TERN_OK || uid <= 0 ||
        parse_i64(tern_cstr(f[1]), &parent) != TERN_OK || parent < 0) {
        snprintf(err, errlen,
                 "openApiExtraAccounts: bad entry (want userId:parentUserId:"
                 "accessKey:secretKey[:flags])");
        return TERN_ECONFIG;
    }
    bool privileged = false, enabled = true;
    if (f[4]) {
        char *s2 = NULL;
        for (char *fl = strtok_r(f[4], "+", &s2); fl; fl = strtok_r(NULL, "+", &s2)) {
            if (strcmp(fl, "privileged") == 0) {
                privileged = true;
            } else if (strcmp(fl, "disabled") == 0) {
                enabled = false;
            } else {
                snprintf(err, errlen, "openApiExtraAccounts: unknown flag %s", fl);
                return TERN_ECONFIG;
            }
        }
    }
    int rc = db_put_account(db, uid, parent, privileged, f[2], f[3], enabled);
    if (rc != TERN_OK)
        snprintf(err, errlen, "openApiExtraAccounts: account %lld cannot be stored (%s)",
                 (long long)uid,
                 rc == TERN_EINVALID ? "its parent must be a main account listed before it"
                                     : "database error");
    return rc;
}

static int provision(struct openapi *o, char *err, size_t errlen)
{
    const struct openapi_config *c = &o->cfg;
    int rc = db_put_region(o->db, c->region_id, c->region_name);
    if (rc == TERN_OK && c->access_key && *c->access_key) {
        if (!c->secret_key || !*c->secret_key) {
            snprintf(err, errlen, "openApiAccessKey is set but openApiSecretKey is empty");
            return TERN_ECONFIG;
        }
        rc = db_put_account(o->db, c->user_id, 0, true, c->access_key, c->secret_key, true);
    }
    if (rc == TERN_OK && c->extra_accounts && *c->extra_accounts) {
        char *list = xstrdup(c->extra_accounts);
        char *save = NULL;
        for (char *e = strtok_r(list, ";", &save); e && rc == TERN_OK;
             e = strtok_r(NULL, ";", &save))
            rc = put_extra_account(o->db, e, err, errlen);
        free(list);
        if (rc != TERN_OK)
            return rc;
    }
    if (rc != TERN_OK) {
        snprintf(err, errlen, "cannot store the configured region or accounts");
        return rc;
    }
    if (db_count_accounts(o->db) == 0) {
        snprintf(err, errlen,
                 "no account: set openApiAccessKey, openApiSecretKey and openApiUserId");
        return TERN_ECONFIG;
    }
    return TERN_OK;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    buf_t b;
    buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < (1u << 20))
        buf_append(&b, chunk, n);
    fclose(f);
    char *s = buf_strdup(&b);
    buf_deinit(&b);
    return s;
}

/* Creates the database's directory (one level) when missing. */
static void make_parent_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return;
    *slash = '\0';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        log_warn("openapi", "cannot create dir=%s errno=%d", dir, errno);
}

static int start_http(struct openapi *o, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o->cfg.port);
    const char *bind =
        o->cfg.bind_address && *o->cfg.bind_address ? o->cfg.bind_address : "0.0.0.0";
    if (inet_pton(AF_INET, bind, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "openApiBindAddress %s is not an IPv4 address", bind);
        return TERN_ECONFIG;
    }
    /* epoll (no FD_SETSIZE bound on connections) in each pool thread; TURBO
     * skips the listen-socket shutdown dance and per-accept fcntl calls. */
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO | MHD_USE_ERROR_LOG;
    bool tls = o->cfg.tls_cert && *o->cfg.tls_cert;
    if (tls) {
        o->tls_cert_pem = read_file(o->cfg.tls_cert);
        o->tls_key_pem = o->cfg.tls_key ? read_file(o->cfg.tls_key) : NULL;
        if (!o->tls_cert_pem || !o->tls_key_pem || !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            snprintf(err, errlen,
                     "HTTPS: cannot read openApiTlsCertFile/openApiTlsKeyFile, or "
                     "libmicrohttpd lacks TLS");
            return TERN_ECONFIG;
        }
        flags |= MHD_USE_TLS;
    }
    o->httpd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, o, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        /* one thread: no pool (the option would only warn) */
        o->cfg.threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(o->cfg.threads > 1 ? o->cfg.threads : o->cfg.max_connections),
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->cfg.max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, o->tls_cert_pem, MHD_OPTION_HTTPS_MEM_KEY,
        o->tls_key_pem, MHD_OPTION_END);
    if (!o->httpd) {
        snprintf(err, errlen, "cannot listen on %s:%d", bind, o->cfg.port);
        return -EADDRINUSE;
    }
    return TERN_OK;
}

int openapi_start(const struct openapi_config *cfg, struct openapi **out, char *err, size_t errlen)
{
    /* SQLite's allocation statistics take a global mutex on every malloc;
     * nothing reads them. Only possible before SQLite initialises (the
     * first start in a process); later calls fail harmlessly. */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    struct openapi *o = xcalloc(1, sizeof *o);
    config_copy(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &o->cfg, cfg, sizeof *cfg);
    pthread_mutex_init(&o->meta_lock, NULL);
    make_parent_dir(o->cfg.db_path);
    int rc = db_open(o->cfg.db_path, &o->db, err, errlen);
    if (rc == TERN_OK)
        rc = provision(o, err, errlen);
    if (rc == TERN_OK)
        rc = api_tunnels_check(o->cfg.tunnels, err, errlen);
    if (rc == TERN_OK &&
        (rc = admin_new(o->cfg.namesrv_addr, o->cfg.admin_timeout_ms, &o->admin)) != TERN_OK)
        snprintf(err, errlen, "cannot start the admin client: %s", tern_strerror(rc));
    if (rc == TERN_OK && db_pool_new(o->cfg.db_path, &o->readers) == TERN_ENOMEM) {
        rc = TERN_ENOMEM;
        snprintf(err, errlen, "cannot allocate the database readers");
    }
    if (rc == TERN_OK && (rc = acl_push_start(o, &o->acl_push)) != TERN_OK)
        snprintf(err, errlen, "cannot start the access-table push: %s", tern_strerror(rc));
    if (rc == TERN_OK && (rc = page_tasks_new(&o->tasks)) != TERN_OK)
        snprintf(err, errlen, "cannot allocate the query tasks");
    /* The poller opens the database file a second time: an in-memory
     * database (tests) has no second connection to share. */
    bool in_memory = strcmp(o->cfg.db_path, ":memory:") == 0;
    if (rc == TERN_OK && o->cfg.stats_poll_ms > 0 &&
        (in_memory || stats_poller_start(o->cfg.db_path, o->admin, o->cfg.stats_poll_ms,
                                         o->cfg.stats_retention_days, &o->sp) != TERN_OK))
        log_warn("openapi", "statistics are not polled: cannot open db=%s again", o->cfg.db_path);
    if (rc == TERN_OK)
        rc = start_http(o, err, errlen);
    if (rc != TERN_OK) {
        openapi_stop(o);
        return rc;
    }
    log_info("openapi", "serving port=%d db=%s region=%s", openapi_port(o), o->cfg.db_path,
             o->cfg.region_id);
    *out = o;
    return TERN_OK;
}

int openapi_port(const struct openapi *o)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(o->httpd, MHD_DAEMON_INFO_BIND_PORT);
    return i ? (int)i->port : o->cfg.port;
}

void openapi_stop(struct openapi *o)
{
    if (!o)
        return;
    if (o->httpd)
        MHD_stop_daemon(o->httpd);
    stats_poller_stop(o->sp);   /* before the admin client it borrows */
    acl_push_stop(o->acl_push); /* uses admin and db */
    admin_free(o->admin);
    page_tasks_free(o->tasks);
    db_pool_free(o->readers);
    if (o->db)
        db_close(o->db);
    pthread_mutex_destroy(&o->meta_lock);
    free(o->tls_cert_pem);
    free(o->tls_key_pem);
    config_free_strings(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &o->cfg);
    free(o);
}
