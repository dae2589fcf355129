/* SPDX-License-Identifier: Apache-2.0 */
/* h_trend.c: /json/trend/topicInputTps and /json/trend/groupOutputTps (spec
 * §6.8) from the per-minute rows the statistics poller stores
 * (stats_poll.h): buckets of `period` minutes aligned on the epoch covering
 * [beginTime, endTime], every bucket present, summed over the brokers of the
 * instance's cluster. Also the removal of a deleted topic's or group's rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openapi/access.h"
#include "openapi/api.h"

#define MS_PER_MINUTE 60000LL

/* The validated parameters shared by both endpoints. */
struct trend_q {
    const char *topic, *group; /* logical names; group NULL for topics */
    int64_t begin, end, period, type;
};

static int trend_params(struct api_req *r, bool with_group, struct trend_q *q)
{
    memset(q, 0, sizeof q[0]);
    if (api_str(r, "topic", true, 1, 255, &q->topic) < 0 ||
        (with_group && api_str(r, "groupId", true, 1, 255, &q->group) < 0) ||
        api_i64(r, "beginTime", true, 0, 0, INT64_MAX / 2, &q->begin) < 0 ||
        api_i64(r, "endTime", true, 0, 0, INT64_MAX / 2, &q->end) < 0 ||
        api_i64(r, "period", true, 0, 1, 10, &q->period) < 0 ||
        api_i64(r, "type", true, 0, 0, 1, &q->type) < 0)
        return -1;
    if (q->period != 1 && q->period != 5 && q->period != 10)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID, "parameter period must be 1, 5 or 10");
    if (q->begin >= q->end)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID, "beginTime must be before endTime");
    int64_t days = r->o->cfg.stats_retention_days;
    if (q->end - q->begin > days * 24 * 60 * MS_PER_MINUTE)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "the range from beginTime to endTime is longer than the %lld days "
                        "statistics are kept",
                        (long long)days);
    return 0;
}

/* Sums stats_minute rows into buckets and writes the §6.8 object. */
static int write_series(struct api_req *r, const struct trend_q *q, int kind, const char *cluster,
                        const char *phys_topic, const char *phys_group, const char *title)
{
    int64_t step = q->period;                               /* minutes per bucket */
    int64_t first = q->begin / MS_PER_MINUTE / step * step; /* first bucket's minute */
    int64_t last = q->end / MS_PER_MINUTE / step * step;
    size_t nb = (size_t)((last - first) / step + 1);
    int64_t *sum = arena_alloc(&r->arena, nb * sizeof *sum);
    if (!sum || !phys_topic || (kind == 1 && !phys_group))
        return api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
    memset(sum, 0, nb * sizeof *sum);
    sqlite3_stmt *st;
    if (api_prepare(r,
                    "SELECT minute, sum(count) FROM stats_minute WHERE kind=? AND cluster=?"
                    " AND topic=? AND grp=? AND minute BETWEEN ? AND ? GROUP BY minute",
                    &st) < 0)
        return -1;
    sqlite3_bind_int(st, 1, kind);
    sqlite3_bind_text(st, 2, cluster, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, phys_topic, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, phys_group ? phys_group : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, first);
    sqlite3_bind_int64(st, 6, last + step - 1);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t m = sqlite3_column_int64(st, 0);
        sum[(m - first) / step] += sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
    jw_t w;
    api_data_begin(r, &w);
    jw_obj_begin(&w);
    jw_key(&w, "title");
    jw_cstr(&w, title);
    jw_key(&w, "records");
    jw_arr_begin(&w);
    for (size_t i = 0; i < nb; i++) {
        jw_obj_begin(&w);
        jw_key(&w, "x");
        jw_i64(&w, (first + (int64_t)i * step) * MS_PER_MINUTE);
        jw_key(&w, "y");
        api_write_float(&w, q->type == 0 ? (double)sum[i] : (double)sum[i] / (double)(step * 60));
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    return 0;
}

int h_trend_topic_input_tps(struct api_req *r)
{
    struct trend_q q;
    struct api_instance in;
    /* Write statistics are metadata of the topic: any visible relation may
     * read them (a publish-only grantee too). */
    if (trend_params(r, false, &q) < 0 || api_topic_access(r, q.topic, 0, &in, NULL) < 0)
        return -1;
    char title[600];
    snprintf(title, sizeof title, "%s input %s", q.topic, q.type == 0 ? "total" : "TPS");
    return write_series(r, &q, 0, in.cluster, api_phys_name(r, &in, q.topic), NULL, title);
}

int h_trend_group_output_tps(struct api_req *r)
{
    struct trend_q q;
    struct api_instance in;
    if (trend_params(r, true, &q) < 0 || api_existing_group(r, q.group, &in) < 0 ||
        api_existing_topic(r, q.topic, &in) < 0)
        return -1;
    char title[600];
    snprintf(title, sizeof title, "%s@%s output %s", q.group, q.topic,
             q.type == 0 ? "total" : "TPS");
    return write_series(r, &q, 1, in.cluster, api_phys_name(r, &in, q.topic),
                        api_phys_name(r, &in, q.group), title);
}

int api_stats_forget(struct api_req *r, const char *cluster, const char *phys_topic,
                     const char *phys_group)
{
    if (!phys_topic && !phys_group) /* api_phys_name ran out of memory (r->err set) */
        return -1;
    sqlite3_stmt *st;
    if (api_prepare(r,
                    phys_topic ? "DELETE FROM stats_minute WHERE cluster=?1 AND topic=?2"
                               : "DELETE FROM stats_minute WHERE cluster=?1 AND (grp=?2"
                                 " OR topic='%RETRY%'||?2 OR topic='%DLQ%'||?2)",
                    &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, phys_topic ? phys_topic : phys_group, -1, SQLITE_TRANSIENT);
    return api_exec(r, st);
}
