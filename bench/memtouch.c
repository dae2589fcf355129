/* SPDX-License-Identifier: Apache-2.0 */
/* memtouch.c: what it costs this machine to hand a process memory, which is
 * what a broker pays for every new page of page cache it writes into.
 *
 * Usage: memtouch MIB [PAUSE_MS]
 * For 4 KiB pages and for transparent huge pages (MADV_HUGEPAGE), three
 * rounds each over MIB MiB of anonymous memory:
 *   cold   - memory the kernel had free before this run;
 *   reused - mapped again right after the previous round unmapped it;
 *   paused - mapped again PAUSE_MS (default 3000) ms after an unmap, long
 *            enough for a guest's free page reporting to give it back to
 *            the host.
 * Each round prints the first-touch time per 2 MiB (one write per 4 KiB)
 * and the memset bandwidth over the same, now mapped, memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int round_once(const char *pages, const char *label, size_t bytes, int huge)
{
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return -1;
    }
    if (huge && madvise(p, bytes, MADV_HUGEPAGE) != 0)
        perror("madvise(MADV_HUGEPAGE)");
    double t0 = now_s();
    for (size_t i = 0; i < bytes; i += 4096)
        p[i] = 1;
    double t1 = now_s();
    memset(p, 2, bytes);
    double t2 = now_s();
    printf("%-5s %-6s first touch %7.3f ms per 2 MiB (%6.2f GB/s), then memset %5.1f GB/s\n", pages,
           label, (t1 - t0) * 1e3 / (double)(bytes >> 21), (double)bytes / (t1 - t0) / 1e9,
           (double)bytes / (t2 - t1) / 1e9);
    munmap(p, bytes);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || atol(argv[1]) < 2) {
        fprintf(stderr, "usage: memtouch MIB [PAUSE_MS]\n");
        return 2;
    }
    size_t bytes = (size_t)atol(argv[1]) << 20;
    long pause_ms = argc > 2 ? atol(argv[2]) : 3000;
    for (int huge = 0; huge <= 1; huge++) {
        const char *pages = huge ? "2MiB" : "4KiB";
        if (round_once(pages, "cold", bytes, huge) || round_once(pages, "reused", bytes, huge))
            return 1;
        struct timespec ts = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        if (round_once(pages, "paused", bytes, huge))
            return 1;
    }
    return 0;
}
