/* SPDX-License-Identifier: Apache-2.0 */
/* startup.c: `mqbench startup`, start-to-serving time and idle memory of a
 * broker process.
 *
 * Forks, execs --bin with the arguments after "--", and polls 127.0.0.1:PORT
 * (and --ns-port, if given) with plain connect() every 0.5 ms; the figure is
 * the time from just before fork to the first accepted connection. With
 * --rss N it then waits N seconds and reads VmRSS, RssAnon (heap and
 * stacks, without mapped store files) and VmHWM from /proc/<pid>/status. Finally it sends SIGTERM
 * to that one pid, measures how long the process takes to exit, and sends SIGKILL after 10 s. The
 * port must be free beforehand, or the figure would be meaningless. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#include "common/clock.h"
#include "common/xalloc.h"

#define STOP_GRACE_MS 10000

/* True when something accepts TCP connections on 127.0.0.1:port. */
static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/* Reads "Key:   N kB" from /proc/pid/status; -1 when absent. */
static long proc_status_kb(pid_t pid, const char *key)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char line[256];
    long v = -1;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtol(line + klen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static void startup_usage(FILE *f)
{
    fputs("usage: mqbench startup --bin PATH [options] -- BROKER-ARGS...\n"
          "  --bin PATH        broker executable\n"
          "  --port PORT       port that means 'serving' (default 10911)\n"
          "  --ns-port PORT    also wait for this port (embedded name server)\n"
          "  --rss SECONDS     after serving, wait and sample VmRSS/VmHWM\n"
          "  --timeout-ms MS   give up waiting for the port (default 30000)\n"
          "  --log FILE        broker stdout/stderr (default /dev/null)\n",
          f);
}

/* Returns true once the child exited (status in *st). */
static bool child_exited(pid_t pid, int *st)
{
    pid_t r = waitpid(pid, st, WNOHANG);
    return r == pid;
}

int startup_main(int argc, char **argv)
{
    enum { O_BIN = 256, O_PORT, O_NSPORT, O_RSS, O_TIMEOUT, O_LOG };
    static const struct option longs[] = {
        {"bin", required_argument, NULL, O_BIN},
        {"port", required_argument, NULL, O_PORT},
        {"ns-port", required_argument, NULL, O_NSPORT},
        {"rss", required_argument, NULL, O_RSS},
        {"timeout-ms", required_argument, NULL, O_TIMEOUT},
        {"log", required_argument, NULL, O_LOG},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *bin = NULL, *log_path = "/dev/null";
    int port = 10911, ns_port = 0, timeout_ms = 30000;
    double rss_s = -1;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (opt) {
        case O_BIN:
            bin = optarg;
            break;
        case O_PORT:
            port = (int)mqbench_num("--port", optarg, 1, 65535);
            break;
        case O_NSPORT:
            ns_port = (int)mqbench_num("--ns-port", optarg, 1, 65535);
            break;
        case O_RSS:
            rss_s = mqbench_seconds("--rss", optarg);
            break;
        case O_TIMEOUT:
            timeout_ms = (int)mqbench_num("--timeout-ms", optarg, 1, 600000);
            break;
        case O_LOG:
            log_path = optarg;
            break;
        case 'h':
            startup_usage(stdout);
            return 0;
        default:
            startup_usage(stderr);
            return 2;
        }
    }
    if (bin == NULL) {
        startup_usage(stderr);
        return 2;
    }
    if (port_open(port) || (ns_port && port_open(ns_port))) {
        fprintf(stderr, "mqbench: port %d%s already accepts connections; stop that process\n", port,
                ns_port ? " (or the name server port)" : "");
        return 1;
    }
    /* argv for the child: bin, then everything after "--". */
    int nargs = argc - optind;
    char **cargv = xcalloc((size_t)nargs + 2, sizeof *cargv);
    cargv[0] = (char *)bin;
    for (int i = 0; i < nargs; i++)
        cargv[i + 1] = argv[optind + i];

    int64_t t0 = clock_mono_ns();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            if (fd > 2)
                close(fd);
        }
        execv(bin, cargv);
        _exit(127);
    }
    free(cargv);

    int st = 0;
    int64_t port_ns = 0, ns_ns = 0;
    int64_t deadline = t0 + (int64_t)timeout_ms * 1000000;
    bool dead = false;
    while (clock_mono_ns() < deadline) {
        if (!port_ns && port_open(port))
            port_ns = clock_mono_ns();
        if (ns_port && !ns_ns && port_open(ns_port))
            ns_ns = clock_mono_ns();
        if (port_ns && (!ns_port || ns_ns))
            break;
        if (child_exited(pid, &st)) {
            dead = true;
            break;
        }
        usleep(500);
    }
    int rcode = 0;
    if (dead || !port_ns || (ns_port && !ns_ns)) {
        fprintf(stderr, "mqbench: %s %s before port %d accepted (see --log)\n", bin,
                dead ? "exited" : "timed out", port);
        rcode = 1;
    }
    double port_ms = port_ns ? (double)(port_ns - t0) / 1e6 : -1;
    double ns_ms = ns_ns ? (double)(ns_ns - t0) / 1e6 : -1;
    long rss_kb = -1, hwm_kb = -1, anon_kb = -1;
    if (!dead && rcode == 0) {
        rss_kb = proc_status_kb(pid, "VmRSS");
        printf("serving after %.1f ms (rss %ld kB at that moment)\n",
               ns_ms > port_ms ? ns_ms : port_ms, rss_kb);
        if (rss_s >= 0) {
            int64_t until = clock_mono_ns() + (int64_t)(rss_s * 1e9);
            while (clock_mono_ns() < until && !(dead = child_exited(pid, &st)))
                usleep(20 * 1000);
            rss_kb = proc_status_kb(pid, "VmRSS");
            hwm_kb = proc_status_kb(pid, "VmHWM");
        }
        anon_kb = proc_status_kb(pid, "RssAnon");
    }
    double stop_ms = -1;
    if (!dead) {
        int64_t t_term = clock_mono_ns();
        kill(pid, SIGTERM);
        while (!(dead = child_exited(pid, &st)) &&
               clock_mono_ns() - t_term < (int64_t)STOP_GRACE_MS * 1000000)
            usleep(1000);
        if (dead) {
            stop_ms = (double)(clock_mono_ns() - t_term) / 1e6;
        } else {
            fprintf(stderr, "mqbench: no exit %d ms after SIGTERM; sending SIGKILL\n",
                    STOP_GRACE_MS);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            rcode = 1;
        }
    }
    printf("SUMMARY startup port=%d port_ms=%.1f ns_port=%d ns_ms=%.1f serving_ms=%.1f "
           "rss_idle_kb=%ld anon_kb=%ld hwm_kb=%ld rss_after_s=%.1f stop_ms=%.1f exit=%d\n",
           port, port_ms, ns_port, ns_ms, ns_ms > port_ms ? ns_ms : port_ms, rss_kb, anon_kb,
           hwm_kb, rss_s, stop_ms,
           WIFEXITED(st) ? WEXITSTATUS(st) : (WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1));
    fflush(stdout);
    return rcode;
}
