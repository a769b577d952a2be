/* The scans of _maxnorm_scan.h outside Python, for a target whose module the tests cannot import (aarch64
 * under qemu-user, test_scan_targets.py): each copy compiled for that target (the generic vectors', the
 * portable set's and, on x86-64, those of the wider sets the CPU runs) counts n_x and n_y for every
 * ordered pair of columns (continuous, correlated, rounded to ties with -0.0 beside +0.0, binary,
 * heavy-tailed, a copy of the first) at several N and every k, and the counts must be the scalar
 * copy's, bit for bit. Prints one line; exits 1 on a difference.
 *
 *   cc -O3 -std=c11 -o harness scan_harness.c -lm && ./harness */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What _maxnorm_scan.h takes from Python.h: the index type and the errors of its scratch. */
typedef ptrdiff_t Py_ssize_t;
#define PyErr_NoMemory() ((void)0)
#define PyErr_SetString(kind, text) ((void)(kind), (void)(text))
#define PyExc_ValueError NULL

#include "../../../src/iblearn/functional/_simd.h"
static int kernel_isa = ISA_PORTABLE; /* main() sets the widest the CPU runs */
#include "../../../src/iblearn/functional/knn/_maxnorm_scan.h"

#define COLUMNS 6

static uint64_t state = 0x9E3779B97F4A7C15u;

static double uniform(void) { /* xorshift64*, 53 bits */
    state ^= state >> 12, state ^= state << 25, state ^= state >> 27;
    return (double)((state * 0x2545F4914F6CDD1Du) >> 11) / 9007199254740992.0;
}

static double normal(void) { return sqrt(-2.0 * log(1.0 - uniform())) * cos(6.283185307179586 * uniform()); }

static const double *sort_key;

static int by_value(const void *a, const void *b) {
    const double u = sort_key[*(const int64_t *)a], v = sort_key[*(const int64_t *)b];
    if (u != v) return u < v ? -1 : 1;
    return *(const int64_t *)a < *(const int64_t *)b ? -1 : *(const int64_t *)a > *(const int64_t *)b;
}

/* sorted (COLUMNS * n, each column ascending) and ranks (each point's place in it) of the test columns. */
static void columns(Py_ssize_t n, double *sorted, int64_t *ranks) {
    double *x = malloc(COLUMNS * n * sizeof(double));
    int64_t *order = malloc(n * sizeof(int64_t));
    for (Py_ssize_t i = 0; i < n; i++) {
        const double z0 = normal(), z1 = normal();
        x[i] = z0;
        x[n + i] = 0.6 * z0 + 0.8 * z1;
        x[2 * n + i] = round(2 * normal());
        x[3 * n + i] = uniform() < 0.5;
        x[4 * n + i] = exp(3 * normal());
        x[5 * n + i] = z0;
    }
    for (int c = 0; c < COLUMNS; c++) {
        for (Py_ssize_t i = 0; i < n; i++) order[i] = i;
        sort_key = x + c * n;
        qsort(order, n, sizeof(int64_t), by_value);
        for (Py_ssize_t r = 0; r < n; r++) {
            sorted[c * n + r] = x[c * n + order[r]];
            ranks[c * n + order[r]] = r;
        }
    }
    free(x);
    free(order);
}

/* The counts of every ordered pair under `level` into nx and ny (pairs * n each); 0, or -1. */
static int counts(const double *sorted, const int64_t *ranks, Py_ssize_t n, Py_ssize_t k, int level, int64_t *nx,
                  int64_t *ny) {
    ScanScratch S = {0};
    if (scan_scratch(&S, ranks, n, COLUMNS, level) < 0) return -1;
    Py_ssize_t p = 0;
    for (int64_t a = 0; a < COLUMNS; a++)
        for (int64_t b = 0; b < COLUMNS; b++) {
            if (a == b) continue;
            if (scan_pair(&S, sorted, ranks, a, b, k) < 0) return free(S.xs), -1;
            scan_output(&S, ranks + a * n, ranks + b * n, NULL, p++, nx, ny, NULL);
        }
    free(S.xs);
    return 0;
}

/* `harness LEVEL N K REPEATS`: the pair (0, 1) of N points counted REPEATS times under LEVEL, and
 * nothing checked (for counting a copy's instructions under an emulator: two runs' difference). */
static int repeat(int level, Py_ssize_t n, Py_ssize_t k, long repeats) {
    double *sorted = malloc(COLUMNS * n * sizeof(double));
    int64_t *ranks = malloc(COLUMNS * n * sizeof(int64_t));
    ScanScratch S = {0};
    columns(n, sorted, ranks);
    if (k < 1 || k > SCAN_KMAX || k >= n || scan_scratch(&S, ranks, n, COLUMNS, level) < 0) return 2;
    for (long r = 0; r < repeats; r++) {
        S.a = S.b = -1; /* each repeat copies the pair in again, as a new pair would */
        if (scan_pair(&S, sorted, ranks, 0, 1, k) < 0) return 2;
    }
    printf("%lld\n", (long long)(S.nx[0] + S.ny[0]));
    free(S.xs), free(sorted), free(ranks);
    return 0;
}

int main(int argc, char **argv) {
    kernel_isa = widest_isa();
    if (argc == 5) return repeat(atoi(argv[1]), atol(argv[2]), atol(argv[3]), atol(argv[4]));
    static const Py_ssize_t sizes[] = {2, 3, 5, 9, 17, 31, 100, 337};
    static const int levels[] = {SCAN_GENERIC, ISA_PORTABLE, ISA_AVX2, ISA_AVX512}; /* each capped at the CPU's */
    const Py_ssize_t pairs = COLUMNS * (COLUMNS - 1);
    long compared = 0, differ = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        const Py_ssize_t n = sizes[s];
        double *sorted = malloc(COLUMNS * n * sizeof(double));
        int64_t *ranks = malloc(COLUMNS * n * sizeof(int64_t));
        int64_t *want = malloc(4 * pairs * n * sizeof(int64_t)), *got = want + 2 * pairs * n;
        columns(n, sorted, ranks);
        for (Py_ssize_t k = 1; k <= SCAN_KMAX && k < n; k++) {
            if (counts(sorted, ranks, n, k, SCAN_SCALAR, want, want + pairs * n) < 0) return 2;
            for (size_t l = 0; l < sizeof levels / sizeof *levels; l++) {
                if (counts(sorted, ranks, n, k, levels[l], got, got + pairs * n) < 0) return 2;
                compared++;
                if (memcmp(want, got, 2 * pairs * n * sizeof(int64_t)) != 0) {
                    printf("differ: n %td, k %td, level %d\n", n, k, levels[l]);
                    differ++;
                }
            }
        }
        free(sorted), free(ranks), free(want);
    }
    printf("%ld of %ld runs differ from the scalar copy's counts\n", differ, compared);
    return differ != 0;
}
