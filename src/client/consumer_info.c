/* SPDX-License-Identifier: Apache-2.0 */
/* consumer_info.c: a consumer's running statistics and its answer to
 * GET_CONSUMER_RUNNING_INFO (307, relayed by a broker from an admin tool or
 * the Open API's consumer status; spec remoting-protocol.md §4.D.8).
 *
 * Counting: each process queue keeps totals (pulls, pull time, messages
 * pulled, consumed OK / failed, listener time) in relaxed atomics, added
 * once per pull answer and once per listener call. Rates: the service thread
 * copies the totals into win[0] every minute, keeping the copy before it in
 * win[1]; a rate is (now - win[1]) / elapsed, i.e. over the last one to two
 * minutes (win[0] alone while the queue is younger). Failures are counted
 * per hour the same way (consumeFailedMsgs).
 *
 * The answer follows Java's ConsumerRunningInfo: `properties` (strings),
 * `subscriptionSet`, `mqTable` keyed by MessageQueue objects (fastjson
 * writes non-string map keys as raw JSON objects), `statusTable` per topic
 * (pullRT, pullTPS, consumeRT, consumeOKTPS, consumeFailedTPS in ms and
 * messages per second, consumeFailedMsgs) and, when jstackEnable=true, a
 * `jstack` text with what each consume thread is doing. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/consumer_int.h"
#include "common/clock.h"
#include "protocol/json.h"

#define RATE_WINDOW_MS 60000
#define HOUR_MS        3600000

void cons_stats_pulled(struct pq *q, size_t n, int64_t ns)
{
    atomic_fetch_add_explicit(&q->st.pulls, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&q->st.pulled, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&q->st.pull_ns, (uint64_t)(ns > 0 ? ns : 0), memory_order_relaxed);
    atomic_store_explicit(&q->last_pull_ms, clock_wall_coarse_ms(), memory_order_relaxed);
}

void cons_stats_consumed(struct pq *q, size_t ok, size_t failed, int64_t ns)
{
    if (ok)
        atomic_fetch_add_explicit(&q->st.ok, ok, memory_order_relaxed);
    if (failed)
        atomic_fetch_add_explicit(&q->st.failed, failed, memory_order_relaxed);
    atomic_fetch_add_explicit(&q->st.consume_ns, (uint64_t)(ns > 0 ? ns : 0), memory_order_relaxed);
    atomic_store_explicit(&q->last_consume_ms, clock_wall_coarse_ms(), memory_order_relaxed);
}

static struct pq_sample sample(struct pq *q, int64_t now)
{
    return (struct pq_sample){
        .pulls = atomic_load_explicit(&q->st.pulls, memory_order_relaxed),
        .pull_ns = atomic_load_explicit(&q->st.pull_ns, memory_order_relaxed),
        .pulled = atomic_load_explicit(&q->st.pulled, memory_order_relaxed),
        .ok = atomic_load_explicit(&q->st.ok, memory_order_relaxed),
        .failed = atomic_load_explicit(&q->st.failed, memory_order_relaxed),
        .consume_ns = atomic_load_explicit(&q->st.consume_ns, memory_order_relaxed),
        .at = now,
    };
}

void cons_stats_roll(struct ons_consumer *c, int64_t now)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->npqs; i++) {
        struct pq *q = c->pqs[i];
        pthread_mutex_lock(&q->mu);
        if (q->win[0].at == 0) {
            /* A new queue: its totals start at zero when it was taken. */
            q->win[0] = (struct pq_sample){.at = now};
            q->hour = q->win[0];
        } else if (now - q->win[0].at >= RATE_WINDOW_MS) {
            q->win[1] = q->win[0];
            q->win[0] = sample(q, now);
        }
        if (now - q->hour.at >= HOUR_MS)
            q->hour = sample(q, now);
        pthread_mutex_unlock(&q->mu);
    }
    pthread_mutex_unlock(&c->mu);
}

/* Per-topic sums of the rates of its queues. */
struct topic_rates {
    const char *topic; /* borrowed from a pq */
    uint64_t pulls, pull_ns, pulled, ok, failed, consume_ns, failed_hour;
    double secs; /* the longest window of its queues */
};

static void add_rates(struct topic_rates *t, struct pq *q, int64_t now)
{
    struct pq_sample cur = sample(q, now), base, hour;
    pthread_mutex_lock(&q->mu);
    base = q->win[1].at ? q->win[1] : q->win[0];
    hour = q->hour;
    pthread_mutex_unlock(&q->mu);
    if (base.at == 0)
        base.at = now; /* not rolled yet: totals only, no elapsed time */
    t->pulls += cur.pulls - base.pulls;
    t->pull_ns += cur.pull_ns - base.pull_ns;
    t->pulled += cur.pulled - base.pulled;
    t->ok += cur.ok - base.ok;
    t->failed += cur.failed - base.failed;
    t->consume_ns += cur.consume_ns - base.consume_ns;
    t->failed_hour += cur.failed - hour.failed;
    double secs = (double)(now - base.at) / 1000.0;
    if (secs > t->secs)
        t->secs = secs;
}

static void put_double(jw_t *w, const char *key, double v)
{
    char num[48];
    snprintf(num, sizeof num, "%.4f", v);
    jw_key(w, key);
    jw_raw(w, tern_cstr(num));
}

static void write_status(jw_t *w, const struct topic_rates *t)
{
    double secs = t->secs > 1.0 ? t->secs : 1.0;
    uint64_t consumed = t->ok + t->failed;
    jw_obj_begin(w);
    put_double(w, "pullRT", t->pulls ? (double)t->pull_ns / 1e6 / (double)t->pulls : 0.0);
    put_double(w, "pullTPS", (double)t->pulled / secs);
    put_double(w, "consumeRT", consumed ? (double)t->consume_ns / 1e6 / (double)consumed : 0.0);
    put_double(w, "consumeOKTPS", (double)t->ok / secs);
    put_double(w, "consumeFailedTPS", (double)t->failed / secs);
    jw_key(w, "consumeFailedMsgs");
    jw_i64(w, (int64_t)t->failed_hour);
    jw_obj_end(w);
}

static void put_prop(jw_t *w, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void put_prop(jw_t *w, const char *key, const char *fmt, ...)
{
    char v[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    jw_key(w, key);
    jw_cstr(w, v);
}

static void write_properties(jw_t *w, struct ons_consumer *c)
{
    const struct cl_config *cfg = &c->core.cfg;
    char ns[512] = "";
    size_t at = 0;
    for (size_t i = 0; i < cfg->nns && at < sizeof ns; i++)
        at += (size_t)snprintf(ns + at, sizeof ns - at, "%s%s", i ? ";" : "", cfg->ns_addrs[i]);
    jw_obj_begin(w);
    put_prop(w, "consumerGroup", "%s", cfg->wire_group);
    put_prop(w, "messageModel", "%s", cfg->broadcasting ? "BROADCASTING" : "CLUSTERING");
    put_prop(w, "consumeFromWhere", "CONSUME_FROM_LAST_OFFSET");
    put_prop(w, "consumeThreadMin", "%d", cfg->consume_threads);
    put_prop(w, "consumeThreadMax", "%d", cfg->consume_threads);
    put_prop(w, "consumeMessageBatchMaxSize", "%d", c->batch ? cfg->batch_max : 1);
    put_prop(w, "pullBatchSize", "%d", PULL_BATCH);
    put_prop(w, "maxReconsumeTimes", "%d", cfg->max_reconsume);
    put_prop(w, "consumeTimeout", "%d", cfg->consume_timeout_min);
    put_prop(w, "suspendCurrentQueueTimeMillis", "%d", cfg->suspend_ms);
    if (cfg->name_space)
        put_prop(w, "namespace", "%s", cfg->name_space);
    put_prop(w, "PROP_NAMESERVER_ADDR", "%s", ns);
    put_prop(w, "PROP_THREADPOOL_CORE_SIZE", "%d", cfg->consume_threads);
    put_prop(w, "PROP_CONSUMEORDERLY", "%s", c->orderly ? "true" : "false");
    put_prop(w, "PROP_CONSUME_TYPE", "CONSUME_PASSIVELY");
    put_prop(w, "PROP_CLIENT_VERSION", "tern-ons-c %s", ONS_VERSION_STRING);
    put_prop(w, "PROP_CONSUMER_START_TIMESTAMP", "%" PRId64, atomic_load(&c->start_wall_ms));
    jw_obj_end(w);
}

static void write_subscriptions(jw_t *w, struct ons_consumer *c)
{
    jw_arr_begin(w);
    for (size_t i = 0; i < c->nsubs; i++) {
        const struct sub *s = &c->subs[i];
        cons_write_sub(w, s->wire_topic, s->expr, s->tags, s->ntags, s->version);
    }
    if (!c->core.cfg.broadcasting)
        cons_write_sub(w, c->retry_topic, "*", NULL, 0, 1);
    jw_arr_end(w);
}

/* The MessageQueue object {"brokerName":…,"queueId":…,"topic":…}: a map key
 * in fastjson's object-key form, appended as raw text. */
static void write_mq_key(buf_t *out, const struct pq *q)
{
    jw_t w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_key(&w, "brokerName");
    jw_cstr(&w, q->broker);
    jw_key(&w, "queueId");
    jw_i64(&w, q->qid);
    jw_key(&w, "topic");
    jw_cstr(&w, q->wire_topic);
    jw_obj_end(&w);
}

/* One "{MessageQueue}:{ProcessQueueInfo}" member of mqTable, appended as
 * raw text because the key is an object. */
static void write_mq(buf_t *out, struct pq *q, bool first, int64_t wall_now, int64_t mono_now)
{
    pthread_mutex_lock(&q->mu);
    int64_t commit = pq_commit_offset_locked(q);
    size_t cached = q->ninflight;
    int64_t lo = cached ? q->inflight[0] : 0, hi = cached ? q->inflight[cached - 1] : 0;
    pthread_mutex_unlock(&q->mu);
    int64_t lock_mono = atomic_load(&q->lock_ms);
    int64_t lock_wall = lock_mono ? wall_now - (mono_now - lock_mono) : 0;
    if (!first)
        buf_append(out, ",", 1);
    write_mq_key(out, q);
    buf_append(out, ":", 1);
    jw_t w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_key(&w, "commitOffset");
    jw_i64(&w, commit);
    jw_key(&w, "cachedMsgMinOffset");
    jw_i64(&w, lo);
    jw_key(&w, "cachedMsgMaxOffset");
    jw_i64(&w, hi);
    jw_key(&w, "cachedMsgCount");
    jw_i64(&w, (int64_t)cached);
    jw_key(&w, "transactionMsgMinOffset");
    jw_i64(&w, 0);
    jw_key(&w, "transactionMsgMaxOffset");
    jw_i64(&w, 0);
    jw_key(&w, "transactionMsgCount");
    jw_i64(&w, 0);
    jw_key(&w, "locked");
    jw_bool(&w, lock_mono != 0);
    jw_key(&w, "tryUnlockTimes");
    jw_i64(&w, 0);
    jw_key(&w, "lastLockTimestamp");
    jw_i64(&w, lock_wall);
    jw_key(&w, "droped");
    jw_bool(&w, atomic_load(&q->dropped));
    jw_key(&w, "lastPullTimestamp");
    jw_i64(&w, atomic_load(&q->last_pull_ms));
    jw_key(&w, "lastConsumeTimestamp");
    jw_i64(&w, atomic_load(&q->last_consume_ms));
    jw_obj_end(&w);
}

/* What each consume thread is doing (the "jstack" of a C client). */
static void write_threads(struct ons_consumer *c, buf_t *out, int64_t mono_now)
{
    pthread_mutex_lock(&c->run_mu);
    for (int i = 0; i < c->nslots; i++) {
        char line[320];
        cons_describe_slot(c, i, mono_now, line, sizeof line);
        buf_append(out, line, strlen(line));
    }
    pthread_mutex_unlock(&c->run_mu);
    if (c->nslots == 0 || c->orderly) {
        char line[96];
        snprintf(line, sizeof line, "%d consume thread(s)%s\n", c->nthreads,
                 c->orderly ? ", ordered: one message per queue at a time" : "");
        buf_append(out, line, strlen(line));
    }
}

void cons_running_info(void *owner, const struct rcmd *req, buf_t *out)
{
    struct ons_consumer *c = owner;
    tern_bytes_t js = rcmd_get(req, "jstackEnable");
    bool jstack = js.ptr && tern_bytes_eq_cstr(js, "true");
    int64_t wall_now = clock_wall_ms(), mono_now = clock_mono_ms();
    jw_t w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_key(&w, "properties");
    write_properties(&w, c);
    pthread_mutex_lock(&c->mu);
    jw_key(&w, "subscriptionSet");
    write_subscriptions(&w, c);
    /* mqTable: written into its own buffer and inserted as one raw value. */
    buf_t mq;
    buf_init(&mq);
    buf_append(&mq, "{", 1);
    struct topic_rates *rates = c->npqs ? cl_calloc(c->npqs, sizeof *rates) : NULL;
    size_t nrates = 0;
    for (size_t i = 0; i < c->npqs; i++) {
        struct pq *q = c->pqs[i];
        write_mq(&mq, q, i == 0, wall_now, mono_now);
        if (rates == NULL)
            continue;
        size_t t = 0;
        while (t < nrates && strcmp(rates[t].topic, q->wire_topic) != 0)
            t++;
        if (t == nrates)
            rates[nrates++].topic = q->wire_topic;
        add_rates(&rates[t], q, mono_now);
    }
    buf_append(&mq, "}", 1);
    jw_key(&w, "mqTable");
    jw_raw(&w, buf_view(&mq));
    if (buf_failed(&mq) || (c->npqs && rates == NULL))
        out->failed = true;
    buf_deinit(&mq);
    jw_key(&w, "statusTable");
    jw_obj_begin(&w);
    for (size_t t = 0; t < nrates; t++) {
        jw_key(&w, rates[t].topic);
        write_status(&w, &rates[t]);
    }
    jw_obj_end(&w);
    pthread_mutex_unlock(&c->mu);
    free(rates);
    if (jstack) {
        buf_t text;
        buf_init(&text);
        write_threads(c, &text, mono_now);
        jw_key(&w, "jstack");
        jw_str(&w, buf_view(&text));
        if (buf_failed(&text))
            out->failed = true;
        buf_deinit(&text);
    }
    jw_obj_end(&w);
}

void cons_status_info(void *owner, const struct rcmd *req, buf_t *out)
{
    struct ons_consumer *c = owner;
    tern_bytes_t topic = rcmd_get(req, "topic");
    buf_append_cstr(out, "{\"consumerTable\":{},\"messageQueueTable\":{");
    bool first = true;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->npqs; i++) {
        struct pq *q = c->pqs[i];
        if (topic.ptr && !tern_bytes_eq_cstr(topic, q->wire_topic))
            continue;
        pthread_mutex_lock(&q->mu);
        int64_t off = pq_commit_offset_locked(q);
        pthread_mutex_unlock(&q->mu);
        if (!first)
            buf_append(out, ",", 1);
        first = false;
        write_mq_key(out, q);
        char num[32];
        snprintf(num, sizeof num, ":%lld", (long long)off);
        buf_append_cstr(out, num);
    }
    pthread_mutex_unlock(&c->mu);
    buf_append_cstr(out, "}}");
}
