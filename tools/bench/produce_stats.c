/* SPDX-License-Identifier: Apache-2.0 */
/* produce_stats.c: the counters, per-second lines and SUMMARY line of
 * `mqbench produce`, shared by the raw protocol producer (produce.c) and the
 * libons producer (ons_produce.c), so both print the same format.
 *
 * Senders call prod_stats_claim/prod_stats_account from any thread (atomics
 * only); the main thread runs prod_stats_ticker and prints the summary. The
 * output format is described in tools/bench/README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"

#include "common/xalloc.h"
#include "protocol/codes.h"

void prod_stats_init(struct prod_stats *st, const struct prod_cfg *cfg)
{
    atomic_init(&st->phase, cfg->warmup_s > 0 ? PHASE_WARMUP : PHASE_MEASURE);
    atomic_init(&st->claimed, 0);
    atomic_init(&st->senders_alive, 0);
    atomic_init(&st->ok_msgs, 0);
    atomic_init(&st->fail_msgs, 0);
    atomic_init(&st->flush_timeouts, 0);
    tally_init(&st->tally);
    atomic_init(&st->shown_ok, 0);
    atomic_init(&st->shown_fail, 0);
    atomic_init(&st->shown_lat_us, 0);
    atomic_init(&st->shown_lat_n, 0);
    st->cpu_self[0] = st->cpu_self[1] = st->cpu_peer[0] = st->cpu_peer[1] = -1;
}

/* User + system CPU seconds of this process. */
static double cpu_self_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* User + system CPU seconds of process pid (all its threads), from
 * /proc/PID/stat (utime and stime: fields 14 and 15); -1 when unreadable. */
static double cpu_pid_s(int pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    const char *p = strrchr(line, ')'); /* the command name may hold spaces */
    unsigned long long ut, st;
    if (p == NULL ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void sample_cpu(struct prod_stats *st, const struct prod_cfg *cfg, int at)
{
    st->cpu_self[at] = cpu_self_s();
    st->cpu_peer[at] = cfg->cpu_pid > 0 ? cpu_pid_s(cfg->cpu_pid) : -1;
}

bool prod_stats_stopping(struct prod_stats *st)
{
    return atomic_load(&st->phase) == PHASE_STOP || mqbench_interrupted();
}

int prod_stats_claim(struct prod_stats *st, const struct prod_cfg *cfg, int want)
{
    if (prod_stats_stopping(st))
        return 0;
    if (cfg->count == 0)
        return want;
    int64_t old = atomic_fetch_add(&st->claimed, want);
    if (old >= cfg->count)
        return 0;
    int64_t left = cfg->count - old;
    return left < want ? (int)left : want;
}

void prod_stats_account(struct prod_stats *st, struct hist *h, int err, int32_t code, int nmsgs,
                        int64_t lat_us)
{
    bool ok = err == TERN_OK && code == RESP_SUCCESS;
    bool measuring = atomic_load_explicit(&st->phase, memory_order_relaxed) != PHASE_WARMUP;
    if (ok) {
        atomic_fetch_add_explicit(&st->shown_ok, (uint64_t)nmsgs, memory_order_relaxed);
        if (lat_us >= 0) {
            atomic_fetch_add_explicit(&st->shown_lat_us, (uint64_t)lat_us, memory_order_relaxed);
            atomic_fetch_add_explicit(&st->shown_lat_n, 1, memory_order_relaxed);
        }
    } else {
        atomic_fetch_add_explicit(&st->shown_fail, (uint64_t)nmsgs, memory_order_relaxed);
    }
    if (!measuring)
        return;
    if (ok) {
        atomic_fetch_add_explicit(&st->ok_msgs, (uint64_t)nmsgs, memory_order_relaxed);
        if (lat_us >= 0)
            hist_record(h, (uint64_t)lat_us);
        return;
    }
    atomic_fetch_add_explicit(&st->fail_msgs, (uint64_t)nmsgs, memory_order_relaxed);
    if (err == TERN_OK && code == RESP_FLUSH_DISK_TIMEOUT)
        atomic_fetch_add_explicit(&st->flush_timeouts, 1, memory_order_relaxed);
    tally_add(&st->tally, err, code);
}

static void sleep_until(double t)
{
    double now = mqbench_now_s();
    if (t > now)
        usleep((useconds_t)((t - now) * 1e6));
}

static bool senders_done(struct prod_stats *st)
{
    return atomic_load(&st->senders_alive) == 0 || mqbench_interrupted();
}

double prod_stats_ticker(struct prod_stats *st, const struct prod_cfg *cfg, double t_start)
{
    double t_measure = t_start + cfg->warmup_s;
    double t_end = cfg->duration_s > 0 ? t_measure + cfg->duration_s : 1e300;
    uint64_t last_ok = 0, last_lat = 0, last_latn = 0;
    double last_t = t_start;
    if (atomic_load(&st->phase) == PHASE_MEASURE)
        sample_cpu(st, cfg, 0);
    for (int tick = 1;; tick++) {
        double next = t_start + tick;
        if (next > t_end)
            next = t_end;
        bool at_switch = false;
        if (atomic_load(&st->phase) == PHASE_WARMUP && next > t_measure) {
            next = t_measure; /* switch phases on time, then resume the ticks */
            at_switch = true;
        }
        while (mqbench_now_s() < next && !senders_done(st))
            sleep_until(mqbench_now_s() + 0.05 < next ? mqbench_now_s() + 0.05 : next);
        double now = mqbench_now_s();
        if (atomic_load(&st->phase) == PHASE_WARMUP && now >= t_measure) {
            atomic_store(&st->phase, PHASE_MEASURE);
            t_measure = now;
            sample_cpu(st, cfg, 0);
        }
        if (at_switch && !senders_done(st)) {
            tick--;
            continue;
        }
        uint64_t ok = atomic_load(&st->shown_ok), fail = atomic_load(&st->shown_fail);
        uint64_t lat = atomic_load(&st->shown_lat_us), latn = atomic_load(&st->shown_lat_n);
        double dt = now - last_t > 1e-6 ? now - last_t : 1e-6;
        double tps = (double)(ok - last_ok) / dt;
        printf("[%6.1fs] sent=%llu tps=%.0f MB/s=%.1f failed=%llu avg_rt_ms=%.2f%s\n",
               now - t_start, (unsigned long long)ok, tps, tps * cfg->size / (1024.0 * 1024.0),
               (unsigned long long)fail,
               latn > last_latn ? (double)(lat - last_lat) / (double)(latn - last_latn) / 1000.0
                                : 0.0,
               atomic_load(&st->phase) == PHASE_WARMUP ? " (warmup)" : "");
        fflush(stdout);
        last_ok = ok;
        last_lat = lat;
        last_latn = latn;
        last_t = now;
        if (now >= t_end || senders_done(st))
            break;
    }
    atomic_store(&st->phase, PHASE_STOP);
    sample_cpu(st, cfg, 1);
    return t_measure;
}

void prod_stats_summary(struct prod_stats *st, const struct prod_cfg *cfg, const struct hist *all,
                        int senders, int conns, double elapsed_s)
{
    uint64_t ok = atomic_load(&st->ok_msgs);
    uint64_t failed = atomic_load(&st->fail_msgs);
    double rate = elapsed_s > 0 ? (double)ok / elapsed_s : 0;
    double mbps = rate * cfg->size / (1024.0 * 1024.0);
    char fails[1024];
    tally_format(&st->tally, true, fails, sizeof fails);
    printf("SUMMARY produce client=%s mode=%s threads=%d conns=%d inflight=%d batch=%d size=%d "
           "msgs=%llu elapsed_s=%.2f msgs_per_s=%.0f mb_per_s=%.1f ",
           cfg->client == CLIENT_ONS ? "ons" : "raw", produce_mode_name(cfg->mode), senders, conns,
           cfg->mode == PROD_ASYNC ? cfg->inflight : 0, cfg->batch, cfg->size,
           (unsigned long long)ok, elapsed_s, rate, mbps);
    if (atomic_load(&all->n) > 0)
        printf("p50_us=%llu p99_us=%llu p999_us=%llu max_us=%llu ",
               (unsigned long long)hist_quantile(all, 0.50),
               (unsigned long long)hist_quantile(all, 0.99),
               (unsigned long long)hist_quantile(all, 0.999),
               (unsigned long long)atomic_load(&all->max_us));
    else
        printf("p50_us=na p99_us=na p999_us=na max_us=na ");
    /* CPU per message over the measured phase (the sends still in flight at
     * its end are not counted: a small overestimate). */
    if (ok > 0 && st->cpu_self[0] >= 0 && st->cpu_self[1] >= 0)
        printf("client_cpu_us=%.2f ", (st->cpu_self[1] - st->cpu_self[0]) * 1e6 / (double)ok);
    if (ok > 0 && st->cpu_peer[0] >= 0 && st->cpu_peer[1] >= 0)
        printf("peer_cpu_us=%.2f ", (st->cpu_peer[1] - st->cpu_peer[0]) * 1e6 / (double)ok);
    printf("failed=%llu flush_disk_timeout=%llu failures=%s\n", (unsigned long long)failed,
           (unsigned long long)atomic_load(&st->flush_timeouts), fails);
    fflush(stdout);
}
