/* SPDX-License-Identifier: Apache-2.0 */
/* api.h: request processing shared by the endpoint handlers.
 *
 * api_process() runs the order of spec/open-api.md §2.7 (route, parameters,
 * signature, common parameters, then the endpoint's handler, which validates
 * its parameters, checks permissions and acts). The whole request after
 * routing runs under o->meta_lock, so a handler's checks and writes (and the
 * broker calls in between) are atomic with respect to other requests; the
 * endpoints that only read the database (api.c READ_ONLY[]) run instead on
 * a pooled read-only connection without the lock (dbpool.h).
 * Handlers run on libmicrohttpd pool threads. */
#ifndef TERN_OPENAPI_API_H
#define TERN_OPENAPI_API_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "openapi/db.h"
#include "openapi/envelope.h"
#include "openapi/openapi.h"
#include "openapi/params.h"
#include "protocol/json.h"

struct admin;
struct acl_push;
struct db_pool;
struct page_tasks;
struct stats_poller;
struct MHD_Daemon;

struct openapi {
    struct openapi_config cfg; /* owned copy; immutable after start */
    pthread_mutex_t meta_lock; /* serialises requests from authentication on */
    sqlite3 *db;               /* owned; guarded by meta_lock */
    struct db_pool *readers;   /* owned; NULL for an in-memory database */
    int64_t clusters_seen_ms;  /* last cluster discovery; guarded by meta_lock */
    struct admin *admin;       /* owned; thread-safe */
    struct acl_push *acl_push; /* owned (acl_push.h); NULL without aclAdminAccessKey */
    struct page_tasks *tasks;  /* owned; guarded by meta_lock (pagetask.h) */
    struct stats_poller *sp;   /* owned statistics poller (stats_poll.h); may be NULL */
    struct MHD_Daemon *httpd;  /* owned */
    char *tls_cert_pem;        /* owned; NULL without TLS */
    char *tls_key_pem;         /* owned */
};

/* Instance row (§6.3.2). */
#define API_ID_MAX 96
struct api_instance {
    char id[API_ID_MAX];
    char region_id[API_ID_MAX];
    char name[512];
    char cluster[256];
    char remark[HTTP_MAX_VALUE_BYTES + 1];
    int64_t owner;
    bool independent_naming;
    int64_t max_send_tps, max_receive_tps, topic_capacity, create_time;
};

struct api_req {
    struct openapi *o;                /* borrowed */
    const struct http_params *params; /* borrowed; valid for the request */
    /* borrowed: o->db under meta_lock, or a pooled reader (READ_ONLY[] in
     * api.c, no lock held): handlers and their helpers query r->db, never
     * o->db, which another thread may be using. */
    sqlite3 *db;
    struct account caller;
    const char *region_id; /* borrowed from params or o->cfg */
    arena_t arena;         /* request-scoped copies */
    enum api_err err;
    char msg[600]; /* dynamicMessage */
    buf_t data;    /* encoded data JSON when has_data */
    bool has_data;
    int64_t current_page, page_size, total;
};

typedef int (*api_handler_fn)(struct api_req *r);

/* Answer of one HTTP request. */
struct api_result {
    unsigned http_status;
    buf_t body; /* owned: the envelope JSON; buf_failed() when memory ran out
                 * while writing it (http.c then sends API_OOM_ENVELOPE) */
};

/* The answer when not even the envelope could be written. */
#define API_OOM_ENVELOPE                                                                       \
    "{\"code\":500,\"dynamicCode\":\"ONS_SYSTEM_ERROR\",\"dynamicMessage\":\"out of memory\"," \
    "\"helpUrl\":null,\"message\":\"Internal failure of the service back "                     \
    "end\",\"requestId\":\"\","                                                                \
    "\"status\":\"ONS_SYSTEM_ERROR\",\"success\":false}"

/* Processes one request. method/path/query/body are borrowed raw bytes;
 * content_type may be NULL. OUT: res (caller deinits res->body). */
void api_process(struct openapi *o, const char *method, tern_bytes_t path, tern_bytes_t query,
                 tern_bytes_t body, const char *content_type, struct api_result *res);

/* Writes a random (version 4) UUID for the envelope's requestId. */
void api_new_request_id(char out[37]);

/* ---- helpers for handlers (each failing helper sets r->err and returns -1) ---- */

int api_fail(struct api_req *r, enum api_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A string parameter. Absent or empty: *out = NULL (an error if required).
 * Length in Unicode characters must be in [min_chars, max_chars]. */
int api_str(struct api_req *r, const char *name, bool required, size_t min_chars, size_t max_chars,
            const char **out);
/* A decimal Integer/Long parameter in [min, max]; dflt when absent. */
int api_i64(struct api_req *r, const char *name, bool required, int64_t dflt, int64_t min,
            int64_t max, int64_t *out);
/* A Boolean parameter (true/false, any case); dflt when absent. */
int api_bool(struct api_req *r, const char *name, bool required, bool dflt, bool *out);
/* Privileged operations (§4.1): main accounts and granted sub-accounts. */
int api_need_privileged(struct api_req *r);
/* Resolves instanceId (§4.3 "Cond."): the given instance, which the caller's
 * main account must own, or when absent and !required the caller's
 * non-namespaced instance of the region. */
int api_instance(struct api_req *r, bool required, struct api_instance *out);
/* Reads one instance by id (any owner). TERN_ENOT_FOUND if absent. */
int api_instance_load(sqlite3 *db, const char *instance_id, struct api_instance *out);
/* The name a resource has on the brokers: "<instanceId>%<name>" in a
 * namespaced instance, the plain name otherwise. Arena copy. */
const char *api_phys_name(struct api_req *r, const struct api_instance *in, const char *name);
/* Maps a failed admin call to ONS_INVOKE_ERROR with its sentence. */
int api_invoke_failed(struct api_req *r, const char *what, const char *err);
/* Writes a Float/Double as Java prints it ("2.0", "0.05"). */
void api_write_float(jw_t *w, double d);
/* Deletes the statistics rows (stats_minute) of a deleted topic (every
 * kind), or of a deleted group (its deliveries and its %RETRY%/%DLQ% topics);
 * names are physical. Inside the caller's transaction (h_trend.c). */
int api_stats_forget(struct api_req *r, const char *cluster, const char *phys_topic,
                     const char *phys_group);
/* Starts the data JSON. */
void api_data_begin(struct api_req *r, jw_t *w);
/* Runs a statement that must finish (DONE). */
int api_exec(struct api_req *r, sqlite3_stmt *st);
/* Prepares sql or fails with ONS_SYSTEM_ERROR. */
int api_prepare(struct api_req *r, const char *sql, sqlite3_stmt **st);
/* Runs "SELECT count(*) ..." with one or two text parameters (b may be
 * NULL). -1 (and ONS_SYSTEM_ERROR) on error. */
int64_t api_count(struct api_req *r, const char *sql, const char *a, const char *b);
/* Column text as a C string ("" for NULL). */
const char *api_col(sqlite3_stmt *st, int col);
/* Length of s in Unicode characters (s is valid UTF-8). */
size_t api_utf8_chars(const char *s);

/* Refreshes the clusters table of the region from the name servers; a
 * failure is logged and the stored list stays (h_region.c). */
void api_refresh_clusters(struct api_req *r);
/* The TCP endpoint of an instance (§4.3, sdk.md §4.2). Arena copy. */
const char *api_tcp_endpoint(struct api_req *r, const struct api_instance *in);

/* Resolves the instance (Cond., also one seen by a grant) and a Group ID
 * the caller may use (§4.5):
 * BIZ_SUBSCRIPTION_NOT_FOUND when absent, ONS_PERMISSION_DENIED when not
 * usable (h_group.c). */
int api_existing_group(struct api_req *r, const char *g, struct api_instance *in);
/* Resolves the instance (Cond.) and a topic in it whose messages the caller
 * may read: BIZ_TOPIC_NOT_FOUND when absent or not visible,
 * ONS_PERMISSION_DENIED for a grantee without the subscribe relation
 * (h_topic.c, rules in access.h). */
int api_existing_topic(struct api_req *r, const char *topic, struct api_instance *in);
/* The masters of in's cluster (arena). -1 with r->err set when the name
 * server cannot be asked. */
struct admin_broker;
int api_brokers(struct api_req *r, const struct api_instance *in, struct admin_broker **b,
                size_t *n);
/* The ConsumerConnection of physical group phys (an object whose
 * connectionSet is a non-empty array) from the first of b[0..n) that has
 * one; *out NULL when the group is offline. -1 on a failed call (r->err). */
struct json_val;
int api_group_connection(struct api_req *r, const struct admin_broker *b, size_t n,
                         const char *phys, const struct json_val **out);
/* The name without the instance's namespace prefix (a view into phys). */
const char *api_logical_name(const struct api_instance *in, const char *phys);

/* The name servers clients of cluster use: the addresses of its last tunnel
 * switch, else namesrvAddr (h_tunnel.c). Arena copy or the configuration. */
const char *api_cluster_namesrv(struct api_req *r, const char *region_id, const char *cluster);
/* Validates openApiTunnels (h_tunnel.c): TERN_ECONFIG with err filled. */
int api_tunnels_check(const char *spec, char *err, size_t errlen);

/* Endpoint handlers (h_*.c). */
int h_region_list(struct api_req *r);
int h_cluster_list(struct api_req *r);
int h_tunnel_switch(struct api_req *r);
int h_instance_create(struct api_req *r);
int h_instance_list(struct api_req *r);
int h_instance_base_info(struct api_req *r);
int h_instance_update(struct api_req *r);
int h_instance_delete(struct api_req *r);
int h_topic_create(struct api_req *r);
int h_topic_delete(struct api_req *r);
int h_topic_get(struct api_req *r);
int h_topic_list_in_page(struct api_req *r);
int h_topic_update(struct api_req *r);
int h_topic_list_names(struct api_req *r);
int h_group_create(struct api_req *r);
int h_group_delete(struct api_req *r);
int h_group_list(struct api_req *r);
int h_group_consumer_update(struct api_req *r);
int h_consumer_accumulate(struct api_req *r);
int h_consumer_status(struct api_req *r);
int h_consumer_get_connection(struct api_req *r);
int h_consumer_timespan(struct api_req *r);
int h_consumer_reset_offset(struct api_req *r);
int h_message_get_by_id(struct api_req *r);
int h_message_get_by_key(struct api_req *r);
int h_message_trace(struct api_req *r);
int h_message_get_by_paged_topic(struct api_req *r);
int h_dlq_get_by_id(struct api_req *r);
int h_dlq_get_by_paged(struct api_req *r);
int h_dlq_resend_by_id(struct api_req *r);
int h_trend_topic_input_tps(struct api_req *r);
int h_trend_group_output_tps(struct api_req *r);
int h_topic_sub_detail(struct api_req *r);
int h_group_sub_detail(struct api_req *r);
int h_empower_create(struct api_req *r);
int h_empower_create_by_sub(struct api_req *r);
int h_empower_delete(struct api_req *r);
int h_empower_list(struct api_req *r);

#endif
