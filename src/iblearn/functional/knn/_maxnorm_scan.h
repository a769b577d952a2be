/* KSG's variant 1 between two one-dimensional variables, for many pairs, by scans along the sorted
 * variables (iblearn.functional.knn.bivariate), included by _maxnorm.c after its helpers.
 *
 *   scan(sorted, ranks, n, pairs, k, table, out_a, out_b[, level]): the `sorted`, `ranks` and `pairs`
 *       of pairs() (_maxnorm_grid.h), k <= SCAN_KMAX; for pair p, either the counts n_x and n_y of
 *       every point (table None: rows p of out_a and out_b, P * n int64 each) or the terms
 *       table[n_x] + table[n_y] (table n doubles, psi(c + 1) at c: row p of out_a, P * n doubles), in
 *       the points' own order; the counts are pairs()'s with variant 1. Returns the first pair whose
 *       k-th neighbour distances overflowed, or -1. `level` caps the instruction set below the module's
 *       (IBLEARN_SIMD), as in scan_kernels.
 *
 * The joint k-th distance. In the order of x (the pair's first variable) the points at rank offset
 * s = 1, 2, ... on either side of a point are its candidates, their x-distances growing with s; once
 * both sides' x-distance exceeds the point's current k-th distance, no point farther along can be
 * nearer. The points go in blocks of W consecutive ranks, a lane each, all lanes at the same offset,
 * so the loads are contiguous (x sorted, y gathered into x's order once per pair); each lane keeps its
 * k smallest distances by a branch-free insertion network (min and max), and the block stops when no
 * lane can improve. That test compares the distances' bits as integers (V_BEYOND), which order
 * non-negative doubles as their values do, so that it takes none of the floating-point units the
 * distances and the network keep busy (measured, 336 points, k = 3: the k-th distance takes a twentieth
 * less time on SSE2). Variant 1 needs only the k-th distance, not which points are the neighbours, so
 * ties among them need no rule here. The distances are fl(x_j - x_i) and fabs(fl(y_j - y_i)), the
 * numbers of every other search (rounding is monotone and symmetric, so a rounded difference has the
 * sign of the exact one), so the k-th distance is theirs exactly.
 *
 * The marginal counts, #{j != i : |v_j - v_i| < eps_i}, in each variable's sorted order (eps scattered
 * into y's order for n_y): the points within eps_i of v_i lie in one run around i, so each side is
 * read from i outwards, G W neighbours at a time with no branch inside, until a group ends outside
 * the run; the count is the number of lanes inside. Where PROBE is set, each side first tests the
 * neighbour PROBE ranks away, without a branch: inside the run, the PROBE nearest are counted and the
 * groups start beyond them.
 *
 * Each sorted variable is copied between pads of SCAN_PAD(n) points at -inf (left) and +inf (right),
 * whose distances are infinite, so that neither search tests bounds. The same kernels are compiled
 * for AVX-512, AVX2, SSE2 (the portable set on x86-64), the compiler's generic vectors (the portable
 * set elsewhere: NEON on aarch64) and scalar C (the portable set for a compiler without them), and
 * each call takes the module's (kernel_isa) or a narrower one. */

#define SCAN_KMAX 8   /* the largest k */
#define SCAN_LANES 16 /* at least W of every instruction set below */
#define SCAN_REACH 32 /* at least G W and PROBE of every instruction set below */
#define SCAN_SCALAR (-1) /* scan's level for the scalar copy, below ISA_PORTABLE */
#define SCAN_GENERIC (-2) /* scan's level for the generic vectors' copy, where compiled (else scalar) */

#ifdef KERNEL_X86
#include <immintrin.h>
#endif

/* The body, once per instruction set: V a vector of W doubles, with loads, arithmetic, min and max
 * (vminpd's a < b ? a : b, which is exact), V_BEYOND(r, l, m) "in every lane r > m and l > m" for
 * the distances of a block's lanes (true only where that holds; a lane past the last point, whose m
 * is -inf, passes it: its distances are +inf or the default NaN, whose sign bit is set, above -inf
 * as integers too), and PROBE the first step of the counts (0: none); V_LT(a, b) the lanes where a < b
 * (a LANES), V_BITS of those as a bit mask, and COUNTS a count a lane (COUNTS_ADD adds 1 in those lanes,
 * COUNTS_SUM the total). The vector sets count in a vector register, not by the popcount of each bit
 * mask, which costs a move out of it and a popcount a vector (measured: the marginal counts take a
 * quarter less time on AVX2, a twentieth less on AVX-512). */
#ifdef KERNEL_X86
#define ISA avx512
#define ISA_TARGET __attribute__((target("avx512f,popcnt")))
#define W 8
#define G 4
#define PROBE 0
typedef __m512d V512;
#define V V512
#define V_LOAD _mm512_loadu_pd
#define V_STORE _mm512_storeu_pd
#define V_SET1 _mm512_set1_pd
#define V_SUB _mm512_sub_pd
#define V_MIN _mm512_min_pd
#define V_MAX _mm512_max_pd
#define V_ABS _mm512_abs_pd
#define V_BEYOND(r, l, m) (_mm512_mask_cmpgt_epi64_mask(V_GT64(r, m), _mm512_castpd_si512(l), _mm512_castpd_si512(m)) == 0xFFu)
#define V_GT64(a, b) _mm512_cmpgt_epi64_mask(_mm512_castpd_si512(a), _mm512_castpd_si512(b))
#define LANES __mmask8
#define V_LT(a, b) _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ)
#define V_BITS(lt) ((unsigned)(lt))
#define V_FULL 0xFFu
#define COUNTS __m512i
#define COUNTS_ZERO _mm512_setzero_si512()
#define COUNTS_ADD(acc, lt) _mm512_mask_add_epi64(acc, lt, acc, _mm512_set1_epi64(1))
#define COUNTS_SUM(acc) _mm512_reduce_add_epi64(acc)
#include "_maxnorm_scan_body.h"

#define ISA avx2
#define ISA_TARGET __attribute__((target("avx2,popcnt")))
#define W 4
#define G 8
#define PROBE 0
typedef __m256d V256;
#define V V256
#define V_LOAD _mm256_loadu_pd
#define V_STORE _mm256_storeu_pd
#define V_SET1 _mm256_set1_pd
#define V_SUB _mm256_sub_pd
#define V_MIN _mm256_min_pd
#define V_MAX _mm256_max_pd
#define V_ABS(a) _mm256_andnot_pd(_mm256_set1_pd(-0.0), a)
#define V_BEYOND(r, l, m) (_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_and_si256(V_GT64(r, m), V_GT64(l, m)))) == 0xF)
#define V_GT64(a, b) _mm256_cmpgt_epi64(_mm256_castpd_si256(a), _mm256_castpd_si256(b))
#define LANES __m256d
#define V_LT(a, b) _mm256_cmp_pd(a, b, _CMP_LT_OQ)
#define V_BITS(lt) ((unsigned)_mm256_movemask_pd(lt))
#define V_FULL 0xFu
/* a lane in the comparison is all ones, -1 as an integer: subtracting it counts 1 */
#define COUNTS __m256i
#define COUNTS_ZERO _mm256_setzero_si256()
#define COUNTS_ADD(acc, lt) _mm256_sub_epi64(acc, _mm256_castpd_si256(lt))
#define COUNTS_SUM(acc) count_sum_avx2(acc)
__attribute__((target("avx2"))) ALWAYS_INLINE int64_t count_sum_avx2(__m256i acc) {
    const __m128i half = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    return _mm_cvtsi128_si64(half) + _mm_extract_epi64(half, 1);
}
#include "_maxnorm_scan_body.h"
#endif

/* SSE2, the x86-64 baseline: the portable set's copy wherever the build's target has it. In the
 * counts a probe 16 neighbours out, then groups of 8 vectors (16 neighbours): a side's run then ends
 * in its first group about as often as in AVX2's groups of 32, for half the comparisons (measured,
 * 336 points, k = 3: the counts take a tenth less time than with groups of 16 vectors and no probe,
 * which took a tenth to a fifth less than groups of 8; on AVX2 and AVX-512 the probe took more time,
 * not less). Two registers a vector (four lanes) made the k-th distance slower, not faster. */
#ifdef __SSE2__
#include <emmintrin.h>
#define SCAN_SSE2 1
#define ISA sse2
#define ISA_TARGET
#define W 2
#define G 8
#define PROBE 16
#define V __m128d
#define V_LOAD _mm_loadu_pd
#define V_STORE _mm_storeu_pd
#define V_SET1 _mm_set1_pd
#define V_SUB _mm_sub_pd
#define V_MIN _mm_min_pd
#define V_MAX _mm_max_pd
#define V_ABS(a) _mm_andnot_pd(_mm_set1_pd(-0.0), a)
/* SSE2 has no 64-bit integer comparison: the high 32 bits (sign, exponent and the mantissa's top 20) of
 * each lane, a test that holds only where the full one does */
#define V_BEYOND(r, l, m) ((_mm_movemask_ps(_mm_castsi128_ps(_mm_and_si128(V_GT32(r, m), V_GT32(l, m)))) & 0xA) == 0xA)
#define V_GT32(a, b) _mm_cmpgt_epi32(_mm_castpd_si128(a), _mm_castpd_si128(b))
#define LANES __m128d
#define V_LT(a, b) _mm_cmplt_pd(a, b)
#define V_BITS(lt) ((unsigned)_mm_movemask_pd(lt))
#define V_FULL 0x3u
/* as AVX2's: a lane in the comparison is -1 as an integer */
#define COUNTS __m128i
#define COUNTS_ZERO _mm_setzero_si128()
#define COUNTS_ADD(acc, lt) _mm_sub_epi64(acc, _mm_castpd_si128(lt))
#define COUNTS_SUM(acc) count_sum_sse2(acc)
ALWAYS_INLINE int64_t count_sum_sse2(__m128i acc) {
    int64_t lane[2];
    _mm_storeu_si128((__m128i *)lane, acc);
    return lane[0] + lane[1];
}
#include "_maxnorm_scan_body.h"
#endif

/* GCC's and clang's generic vectors (vector_size), two doubles a vector: the portable set's copy on
 * other targets, where the compiler lays them on the target's own 128-bit registers (NEON on aarch64,
 * which every aarch64 CPU has; VSX on POWER), compiled wherever the compiler has them and run on
 * x86-64 by scan's level SCAN_GENERIC (the tests compare it; tests/functional/knn/scan_harness.c runs
 * it on other targets). Each operation is the scalar copy's, a lane at a time: min and max select on
 * a comparison (a < b ? a : b, as x86's minpd and the scalar copy take it; on aarch64 an instruction
 * of its own, below), and V_BEYOND compares the distances' bits as integers, as AVX2's does. Same
 * widths, probe and groups as SSE2's copy (its measurements above). */
#if defined(__GNUC__)
#define SCAN_GENERIC_COPY 1
typedef double GenericV __attribute__((vector_size(16)));
typedef int64_t GenericI __attribute__((vector_size(16)));
ALWAYS_INLINE GenericV generic_load(const double *p) {
    GenericV v;
    memcpy(&v, p, sizeof v); /* an unaligned vector load */
    return v;
}
#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
/* aarch64's fminnm and fmaxnm, an instruction each where a select takes two (fmin and fmax would return
 * NaN). On the lanes of points they give the select's numbers: no NaN there, and a -0 only as an
 * x-difference (-0.0 sorted beside +0.0), maxed with an absolute value, which both return. A lane past
 * the last point holds NaN (+inf - +inf), where they return the number: its list stays at -inf and
 * V_BEYOND stops it as in the other copies. */
ALWAYS_INLINE GenericV generic_min(GenericV a, GenericV b) {
    return (GenericV)vminnmq_f64((float64x2_t)a, (float64x2_t)b);
}
ALWAYS_INLINE GenericV generic_max(GenericV a, GenericV b) {
    return (GenericV)vmaxnmq_f64((float64x2_t)a, (float64x2_t)b);
}
#else
ALWAYS_INLINE GenericV generic_select(GenericI mask, GenericV a, GenericV b) {
    return (GenericV)(((GenericI)a & mask) | ((GenericI)b & ~mask));
}
ALWAYS_INLINE GenericV generic_min(GenericV a, GenericV b) { return generic_select((GenericI)(a < b), a, b); }
ALWAYS_INLINE GenericV generic_max(GenericV a, GenericV b) { return generic_select((GenericI)(a > b), a, b); }
#endif
ALWAYS_INLINE GenericV generic_abs(GenericV a) { return (GenericV)((GenericI)a & (GenericI){INT64_MAX, INT64_MAX}); }
ALWAYS_INLINE int generic_beyond(GenericV r, GenericV l, GenericV m) {
    const GenericI above = ((GenericI)r > (GenericI)m) & ((GenericI)l > (GenericI)m);
    return above[0] && above[1];
}
#define ISA generic
#define ISA_TARGET
#define W 2
#define G 8
#define PROBE 16
#define V GenericV
#define V_LOAD generic_load
#define V_STORE(p, a) memcpy((p), &(a), sizeof(GenericV))
#define V_SET1(a) ((GenericV){(a), (a)})
#define V_SUB(a, b) ((a) - (b))
#define V_MIN generic_min
#define V_MAX generic_max
#define V_ABS generic_abs
#define V_BEYOND generic_beyond
#define LANES GenericI
#define V_LT(a, b) ((GenericI)((a) < (b)))
#define V_BITS(lt) ((unsigned)((lt)[0] & 1) | (unsigned)((lt)[1] & 1) << 1)
#define V_FULL 0x3u
/* a lane in the comparison is -1 as an integer, as in the x86 copies */
#define COUNTS GenericI
#define COUNTS_ZERO ((GenericI){0, 0})
#define COUNTS_ADD(acc, lt) ((acc) - (lt))
#define COUNTS_SUM(acc) ((acc)[0] + (acc)[1])
#include "_maxnorm_scan_body.h"
#endif

/* The scalar one, a lane a point: the portable set's copy where neither SSE2 nor generic vectors are
 * compiled (another compiler on another target), compiled everywhere, and run on x86-64 by scan's
 * level SCAN_SCALAR (the tests compare it). */
#define ISA scalar
#define ISA_TARGET
#define W 1
#define G 8
#define PROBE 0
#define V double
#define V_LOAD(p) (*(p))
#define V_STORE(p, a) (*(p) = (a))
#define V_SET1(a) (a)
#define V_SUB(a, b) ((a) - (b))
#define V_MIN(a, b) ((a) < (b) ? (a) : (b))
#define V_MAX(a, b) ((a) > (b) ? (a) : (b))
#define V_ABS fabs
#define V_BEYOND(r, l, m) ((r) > (m) && (l) > (m))
#define LANES unsigned
#define V_LT(a, b) ((unsigned)((a) < (b)))
#define V_BITS(lt) (lt)
#define V_FULL 1u
#define COUNTS int64_t
#define COUNTS_ZERO 0
#define COUNTS_ADD(acc, lt) ((acc) + (lt))
#define COUNTS_SUM(acc) (acc)
#include "_maxnorm_scan_body.h"

typedef void (*ScanEps)(const double *, const double *, Py_ssize_t, Py_ssize_t, double *);
typedef void (*ScanCounts)(const double *, const double *, Py_ssize_t, int64_t *);

/* The module's instruction set (kernel_isa, which the CPU runs), or `level` where that is narrower
 * (ISA_AVX512, ISA_AVX2, ISA_PORTABLE, SCAN_SCALAR or SCAN_GENERIC: the tests compare them). */
static void scan_kernels(int level, ScanEps *eps, ScanCounts *counts) {
    const int isa = level < kernel_isa ? level : kernel_isa;
    *eps = scan_eps_scalar, *counts = scan_counts_scalar;
#ifdef SCAN_GENERIC_COPY
    if (level == SCAN_GENERIC) {
        *eps = scan_eps_generic, *counts = scan_counts_generic;
        return;
    }
#endif
#if defined(SCAN_SSE2)
    if (isa >= ISA_PORTABLE) *eps = scan_eps_sse2, *counts = scan_counts_sse2;
#elif defined(SCAN_GENERIC_COPY)
    if (isa >= ISA_PORTABLE) *eps = scan_eps_generic, *counts = scan_counts_generic;
#endif
#ifdef KERNEL_X86
    if (isa >= ISA_AVX512)
        *eps = scan_eps_avx512, *counts = scan_counts_avx512;
    else if (isa >= ISA_AVX2)
        *eps = scan_eps_avx2, *counts = scan_counts_avx2;
#else
    (void)isa;
#endif
}

/* Scratch of one call: padded copies of the pair's variables, and per-rank arrays. A padded copy
 * holds SCAN_PAD(n) points at -inf, the data, and as many at +inf (0 for y in x's order, whose pads
 * are read beside x's infinite distances only). */
#define SCAN_PAD(n) ((n) + SCAN_REACH)
typedef struct {
    Py_ssize_t n;
    int64_t a, b;             /* the variables whose copies xs and vs hold (-1: none) */
    double *xs, *ys, *vs;     /* n + 2 SCAN_PAD(n) each: a sorted, b in a's order, b sorted */
    double *eps, *eps_y;      /* n + SCAN_LANES each: by rank in a, in b */
    int64_t *nx, *ny, *perm;  /* n each: n_x by rank in a, n_y by rank in b, each a-rank's b-rank */
    int64_t *order;           /* m * n: the point of each rank, per variable */
    ScanEps eps_kernel;
    ScanCounts count_kernel;
} ScanScratch;

static void padded(double *dst, const double *src, Py_ssize_t n, double left, double right) {
    for (Py_ssize_t p = 0; p < SCAN_PAD(n); p++) {
        dst[p] = left;
        dst[SCAN_PAD(n) + n + p] = right;
    }
    if (src) memcpy(dst + SCAN_PAD(n), src, n * sizeof(double));
}

/* n_x (by rank in a) and n_y (by rank in b) of the pair (a, b); 0, or -1 if a k-th distance overflowed. */
static int scan_pair(ScanScratch *S, const double *sorted, const int64_t *ranks, int64_t a, int64_t b,
                     Py_ssize_t k) {
    const Py_ssize_t n = S->n;
    const int64_t *order_a = S->order + a * n, *rank_b = ranks + b * n;
    const double *sb = sorted + b * n;
    double *xs = S->xs + SCAN_PAD(n), *ys = S->ys + SCAN_PAD(n), *vs = S->vs + SCAN_PAD(n);
    if (S->a != a) padded(S->xs, sorted + a * n, n, -INFINITY, INFINITY);
    if (S->b != b) padded(S->vs, sb, n, -INFINITY, INFINITY);
    S->a = a, S->b = b;
    for (Py_ssize_t r = 0; r < n; r++) {
        S->perm[r] = rank_b[order_a[r]];
        ys[r] = sb[S->perm[r]];
    }
    S->eps_kernel(xs, ys, n, k, S->eps);
    for (Py_ssize_t r = 0; r < n; r++) {
        if (S->eps[r] == INFINITY) return -1;
        S->eps_y[S->perm[r]] = S->eps[r];
    }
    for (Py_ssize_t l = n; l < n + SCAN_LANES; l++) S->eps[l] = S->eps_y[l] = -INFINITY;
    S->count_kernel(xs, S->eps, n, S->nx);
    S->count_kernel(vs, S->eps_y, n, S->ny);
    return 0;
}

/* The outputs of scan() for pair p from the counts by rank: counts, or terms, in the points' order. */
static void scan_output(const ScanScratch *S, const int64_t *rank_a, const int64_t *rank_b, const double *table,
                        Py_ssize_t p, int64_t *out_nx, int64_t *out_ny, double *out_terms) {
    const Py_ssize_t n = S->n;
    if (table) {
        double *t = out_terms + p * n;
        for (Py_ssize_t i = 0; i < n; i++) t[i] = table[S->nx[rank_a[i]]] + table[S->ny[rank_b[i]]];
        return;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        out_nx[p * n + i] = S->nx[rank_a[i]];
        out_ny[p * n + i] = S->ny[rank_b[i]];
    }
}

/* The scratch for n points and m variables, with each variable's order from its ranks; 0, or -1 with
 * an exception set (out of memory, or ranks that are not a permutation). free(S->xs) releases it. */
static int scan_scratch(ScanScratch *S, const int64_t *ranks, Py_ssize_t n, Py_ssize_t m, int level) {
    const Py_ssize_t line = n + 2 * SCAN_PAD(n), doubles = 3 * line + 2 * (n + SCAN_LANES), ints = 3 * n + m * n;
    S->n = n, S->a = -1, S->b = -1;
    scan_kernels(level, &S->eps_kernel, &S->count_kernel);
    S->xs = malloc(doubles * sizeof(double) + ints * sizeof(int64_t));
    if (!S->xs) {
        PyErr_NoMemory();
        return -1;
    }
    S->ys = S->xs + line, S->vs = S->ys + line, S->eps = S->vs + line, S->eps_y = S->eps + n + SCAN_LANES;
    S->nx = (int64_t *)(S->eps_y + n + SCAN_LANES), S->ny = S->nx + n, S->perm = S->ny + n;
    S->order = S->perm + n;
    padded(S->ys, NULL, n, 0.0, 0.0);
    for (Py_ssize_t p = 0; p < m * n; p++) S->order[p] = -1;
    for (Py_ssize_t v = 0; v < m; v++)
        for (Py_ssize_t i = 0; i < n; i++) {
            const int64_t r = ranks[v * n + i];
            if (r < 0 || r >= n || S->order[v * n + r] >= 0) {
                PyErr_SetString(PyExc_ValueError, "ranks: each variable's ranks must be a permutation of [0, n)");
                return -1;
            }
            S->order[v * n + r] = i;
        }
    return 0;
}
