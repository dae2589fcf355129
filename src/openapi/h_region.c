/* SPDX-License-Identifier: Apache-2.0 */
/* h_region.c: /json/region/list and /json/cluster/list (spec §6.1, §6.2).
 * The region is this console's (configured); clusters are discovered from
 * the name servers and remembered with the time they were first seen. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "openapi/admin.h"
#include "openapi/api.h"

int h_region_list(struct api_req *r)
{
    sqlite3_stmt *st;
    if (api_prepare(r, "SELECT id, region_id, region_name FROM regions ORDER BY id", &st) < 0)
        return -1;
    jw_t w;
    api_data_begin(r, &w);
    jw_arr_begin(&w);
    while (sqlite3_step(st) == SQLITE_ROW) {
        jw_obj_begin(&w);
        jw_key(&w, "id");
        jw_i64(&w, sqlite3_column_int64(st, 0));
        jw_key(&w, "regionId");
        jw_cstr(&w, api_col(st, 1));
        jw_key(&w, "regionName");
        jw_cstr(&w, api_col(st, 2));
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    sqlite3_finalize(st);
    return 0;
}

void api_refresh_clusters(struct api_req *r)
{
    const char **names;
    size_t n;
    char err[300];
    if (admin_list_clusters(r->o->admin, &r->arena, &names, &n, err, sizeof err) != TERN_OK) {
        log_warn("openapi", "cluster discovery failed err=\"%s\"", err);
        return;
    }
    int64_t now = clock_wall_ms();
    r->o->clusters_seen_ms = now;
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *st;
        if (api_prepare(r,
                        "INSERT INTO clusters(region_id, name, create_time, modify_time)"
                        " VALUES(?,?,?,?) ON CONFLICT(region_id, name) DO NOTHING",
                        &st) < 0)
            return;
        sqlite3_bind_text(st, 1, r->region_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, names[i], -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_bind_int64(st, 4, now);
        if (api_exec(r, st) < 0)
            return;
    }
}

/* yyyy-MM-dd HH:mm:ss in the server's time zone (§6.2.1). */
static void fmt_time(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

/* cluster/list asks the name servers at most once a second; in between it
 * answers from the clusters table (the cached answer). */
#define CLUSTER_REFRESH_MS 1000

int h_cluster_list(struct api_req *r)
{
    int64_t now = clock_wall_ms();
    if (now - r->o->clusters_seen_ms >= CLUSTER_REFRESH_MS || now < r->o->clusters_seen_ms) {
        r->o->clusters_seen_ms = now; /* a failed attempt counts: no retry storm */
        api_refresh_clusters(r);
        r->err = API_OK; /* a failed refresh still lists what is known */
    }
    sqlite3_stmt *st;
    if (api_prepare(r,
                    "SELECT region_id, name, create_time, modify_time FROM clusters"
                    " WHERE region_id=? ORDER BY name",
                    &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, r->region_id, -1, SQLITE_TRANSIENT);
    jw_t w;
    api_data_begin(r, &w);
    jw_arr_begin(&w);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char ct[32], mt[32];
        fmt_time(sqlite3_column_int64(st, 2), ct);
        fmt_time(sqlite3_column_int64(st, 3), mt);
        jw_obj_begin(&w);
        jw_key(&w, "regionId");
        jw_cstr(&w, api_col(st, 0));
        jw_key(&w, "cluster");
        jw_cstr(&w, api_col(st, 1));
        jw_key(&w, "createTime");
        jw_cstr(&w, ct);
        jw_key(&w, "modifyTime");
        jw_cstr(&w, mt);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    sqlite3_finalize(st);
    return 0;
}
