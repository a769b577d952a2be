/* Exact max-norm neighbour searches for the kNN estimators (KSG, Kozachenko-Leonenko, Ross).
 *
 * Layout (made by iblearn.functional.knn.neighbors._slab_layout): the points, column by column (`coords`,
 * d rows of n doubles), cut into slabs of `width` consecutive points in the order of coordinate a
 * (row 0), each slab sorted by coordinate b (row `bcol`). Since |a_i - a_j| and |b_i - b_j| are lower
 * bounds of the max-norm distance, the candidates for a radius r are, in each slab whose a-range
 * comes within r, one contiguous run of b (found by bisection). Their distances are computed in blocks
 * by a loop the compiler vectorises; they are the same float64 numbers as max_d |c_d[i] - c_d[j]|
 * computed any other way, so the answers are exact.
 *
 *   knn(layout, order, k, first, last, out_dist, out_idx), with layout the tuple (coords, n, dim, bcol,
 *       width) and order (int64, n) the caller's index of each layout position: for the points at
 *       positions first..last-1 (the rows of the outputs that are written), the first k of the other
 *       points in the order of (distance, caller's index), as caller's indices. At equal distance the
 *       smaller index wins, so the answer does not depend on the order a search visits the
 *       points in (nor on the layout): KSG's variant 2 takes eps_x and eps_y from the k neighbours, and
 *       every path (slabs, tree, brute force) must pick the same ones on tied data. Slabs are visited
 *       nearest in a first, and within a slab blocks nearest in b first, so the k-th distance shrinks
 *       early; the search stops when every unvisited slab or block is farther than that in a or b.
 *   count(layout, radius, inclusive, first, last, out): for the same range,
 *       #{j != i : d(i, j) < radius_i} (<= if inclusive).
 *
 * Given the tree's layout tuple (below) instead, the same two search the k-d tree. KSG between pairs of
 * one-dimensional variables has kernels of its own (pairs, _maxnorm_grid.h; scan, _maxnorm_scan.h), and
 * network inference's autoregressive surrogates one beside them (sieve, _maxnorm_sieve.h). All
 * release the GIL, so disjoint ranges run in parallel threads (the Python side does that).
 *
 * Instruction sets: one for every kernel call of a process, chosen at import, the widest the CPU runs
 * unless the environment variable IBLEARN_SIMD names a narrower one: "avx512" (the scans' AVX-512 copy,
 * the other kernels' AVX2 one), "avx2" or "portable" (the build's own target, SSE2 on x86-64); a set
 * the CPU lacks falls back to the widest it runs, and a value naming none fails the import with a
 * ValueError. The module's ISA says which runs. Every set gives the same answers (the tests compare
 * them, switching sets within one process by _set_isa), so the variable is for testing and timing the
 * narrower paths on a wide CPU.
 *
 * Buffers are C-contiguous float64 (coords, radius, out_dist) and int64 (out_idx, out); this private
 * module checks their sizes, not their dtypes: iblearn.functional.knn.neighbors makes them.
 *
 * Why slabs and not only a k-d tree: in the 10-d joint space of a 5x5 KSG problem at N = 10,000 the
 * k-th neighbour lies about 0.74 standard deviations away, so any box test passes a large share of the
 * points and the work is distance arithmetic; here it is done 4 lanes at a time over contiguous memory.
 * Two pruning coordinates keep about 20% of the points as candidates, against 38% for one (measured).
 * That share falls only like the radius, so at large N the k-d tree below takes over (the Python side
 * picks by N).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A fast-math build fails in _simd.h, and the package falls back to scipy's k-d tree. */
#include "../_simd.h"

#define BLOCK 64

/* The distance loop vectorises: each kernel below is compiled twice, for AVX2 (twice the lanes of the
 * x86-64 baseline, SSE2) and for the baseline, and the module picks one copy for all of them once, at
 * import (kernel_isa). */

/* The set the kernels run, chosen once at import (choose_isa) and read at each kernel call; only the tests'
 * _set_isa changes it, between calls, so threads share it. */
static int kernel_isa = ISA_PORTABLE;

/* Of the sets (_simd.h), AVX-512 has a copy of the scans only (_maxnorm_scan.h); the other kernels run
 * their AVX2 copy under it. */

/* IBLEARN_SIMD's set (unset or empty: the widest); -1 with a ValueError for a value that names none. */
static int choose_isa(void) {
    const char *asked = getenv("IBLEARN_SIMD");
    if (!asked || !*asked) return widest_isa();
    const int isa = isa_named(asked);
    if (isa < 0)
        PyErr_Format(PyExc_ValueError, "IBLEARN_SIMD: expected portable, avx2 or avx512 (or unset for the "
                                       "widest the CPU runs), got '%s'",
                     asked);
    return isa;
}

/* A kernel's two copies around its body (an ALWAYS_INLINE name##_body), and name, which calls the one
 * kernel_isa picks; ret is `return` for a kernel with a result, else empty. Without GCC's target
 * attribute on x86-64, one copy, compiled for the build's target. */
#ifdef KERNEL_X86
#define VECTOR_COPIES(type, ret, name, params, args)                                                        \
    __attribute__((target("avx2"))) static type name##_avx2 params { ret name##_body args; }                \
    static type name##_base params { ret name##_body args; }                                                \
    static type name params { ret(kernel_isa >= ISA_AVX2 ? name##_avx2 : name##_base) args; }
#else
#define VECTOR_COPIES(type, ret, name, params, args) \
    static type name params { ret name##_body args; }
#endif

/* dist[t] = max over dims of |coords[dim][start + t] - centre[dim]|, for t < len. */
ALWAYS_INLINE void block_distances(const double *coords, Py_ssize_t n, Py_ssize_t dim, const double *centre,
                                   Py_ssize_t start, Py_ssize_t len, double *dist) {
    for (Py_ssize_t t = 0; t < len; t++) dist[t] = 0.0;
    for (Py_ssize_t c = 0; c < dim; c++) {
        const double *col = coords + c * n + start;
        const double v = centre[c];
        for (Py_ssize_t t = 0; t < len; t++) {
            double a = fabs(col[t] - v);
            dist[t] = a > dist[t] ? a : dist[t];
        }
    }
}

/* An empty top-k list: k neighbours at infinity, none found. */
ALWAYS_INLINE void no_neighbours(double *best, int64_t *who, Py_ssize_t k) {
    for (Py_ssize_t s = 0; s < k; s++) {
        best[s] = INFINITY;
        who[s] = -1;
    }
}

/* Whether a candidate at distance d of index j enters the top-k list: nearer than its k-th, or as near
 * with a smaller index. The empty list's entries (infinity, index -1) admit no candidate at infinity, so
 * an overflowed distance leaves -1 behind (the Python side refuses it). */
ALWAYS_INLINE int precedes(const double *best, const int64_t *who, Py_ssize_t k, double d, int64_t j) {
    return d < best[k - 1] || (d == best[k - 1] && j < who[k - 1]);
}

/* Insert (d, j) into the top-k list, ascending by (distance, index); the caller has checked precedes(). */
static void insert(double *best, int64_t *who, Py_ssize_t k, double d, int64_t j) {
    Py_ssize_t s = k - 1;
    while (s > 0 && (best[s - 1] > d || (best[s - 1] == d && who[s - 1] > j))) {
        best[s] = best[s - 1];
        who[s] = who[s - 1];
        s--;
    }
    best[s] = d;
    who[s] = j;
}

/* The run of ascending v[lo..hi) within r of c, as the distance computation itself decides it:
 * run_start is the first p with fl(c - v[p]) <= r, run_end the first p with fl(v[p] - c) > r. Rounding is
 * monotone, so both tests are monotone in p, and a point outside the run has fl(|v[p] - c|) > r, one of
 * the terms of its max-norm distance: no padding or ulp argument is needed. */
static Py_ssize_t run_start(const double *v, Py_ssize_t lo, Py_ssize_t hi, double c, double r) {
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (c - v[mid] > r)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static Py_ssize_t run_end(const double *v, Py_ssize_t lo, Py_ssize_t hi, double c, double r) {
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (v[mid] - c > r)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

typedef struct {
    const double *coords; /* dim rows of n: row 0 is a, row `bcol` is b */
    Py_ssize_t n, dim, width;
    const double *a, *b;
    double *amin, *amax;  /* per slab */
    double *centre;       /* scratch: the query point's coordinates */
    const int64_t *order; /* the caller's index of each position (knn only) */
} Layout;

/* k nearest of point i among the slab [lo, hi), walking outwards from b_i in blocks (nearest b first)
 * and stopping when both sides are farther than the current k-th distance in b (a point exactly as far
 * may still enter by its index). */
ALWAYS_INLINE void knn_slab(const Layout *L, Py_ssize_t i, const double *centre, Py_ssize_t lo, Py_ssize_t hi,
                            Py_ssize_t k, double *best, int64_t *who) {
    double dist[BLOCK];
    const double bi = L->b[i];
    Py_ssize_t up = run_start(L->b, lo, hi, bi, 0.0), down = up; /* unvisited: [up, hi), [lo, down) */
    for (;;) {
        double gap_up = up < hi ? L->b[up] - bi : INFINITY;
        double gap_down = down > lo ? bi - L->b[down - 1] : INFINITY;
        if ((!(gap_up <= best[k - 1]) && !(gap_down <= best[k - 1])) || (up == hi && down == lo)) return;
        Py_ssize_t start, len;
        if (down == lo || (up < hi && gap_up <= gap_down)) { /* gaps may both be infinite (overflow) */
            start = up;
            len = hi - up < BLOCK ? hi - up : BLOCK;
            up += len;
        } else {
            len = down - lo < BLOCK ? down - lo : BLOCK;
            start = down - len;
            down = start;
        }
        block_distances(L->coords, L->n, L->dim, centre, start, len, dist);
        for (Py_ssize_t t = 0; t < len; t++)
            if (dist[t] <= best[k - 1] && start + t != i && precedes(best, who, k, dist[t], L->order[start + t]))
                insert(best, who, k, dist[t], L->order[start + t]);
    }
}

ALWAYS_INLINE void knn_kernel_body(const Layout *L, Py_ssize_t k, Py_ssize_t first, Py_ssize_t last,
                                   double *out_d, int64_t *out_i) {
    const Py_ssize_t n = L->n, w = L->width, slabs = (n + w - 1) / w;
    double *centre = L->centre;
    for (Py_ssize_t i = first; i < last; i++) {
        double *best = out_d + i * k;
        int64_t *who = out_i + i * k;
        no_neighbours(best, who, k);
        for (Py_ssize_t c = 0; c < L->dim; c++) centre[c] = L->coords[c * n + i];
        const double ai = L->a[i];
        Py_ssize_t up = i / w, down = up; /* slabs not yet visited: [up, slabs) and [0, down) */
        for (;;) {
            double gap_up = up < slabs ? L->amin[up] - ai : INFINITY;
            double gap_down = down > 0 ? ai - L->amax[down - 1] : INFINITY;
            if (gap_up < 0) gap_up = 0; /* i's own slab */
            if ((!(gap_up <= best[k - 1]) && !(gap_down <= best[k - 1])) || (up == slabs && down == 0)) break;
            Py_ssize_t s = down == 0 || (up < slabs && gap_up <= gap_down) ? up++ : --down;
            knn_slab(L, i, centre, s * w, (s + 1) * w < n ? (s + 1) * w : n, k, best, who);
        }
    }
}
VECTOR_COPIES(void, , knn_kernel,
              (const Layout *L, Py_ssize_t k, Py_ssize_t first, Py_ssize_t last, double *out_d, int64_t *out_i),
              (L, k, first, last, out_d, out_i))

ALWAYS_INLINE void count_kernel_body(const Layout *L, const double *radius, int inclusive, Py_ssize_t first,
                                     Py_ssize_t last, int64_t *out) {
    const Py_ssize_t n = L->n, w = L->width, slabs = (n + w - 1) / w;
    double *centre = L->centre, dist[BLOCK];
    for (Py_ssize_t i = first; i < last; i++) {
        const double r = radius[i], ai = L->a[i], bi = L->b[i];
        if (L->dim == 1) {
            /* One dimension: the layout is sorted, and the run within r is the answer, since every
             * point of it lies within r (see run_start); no distance is computed. A strict count drops
             * the points at exactly r, which sit at the run's two ends. */
            Py_ssize_t lo = run_start(L->b, 0, n, bi, r), hi = run_end(L->b, lo, n, bi, r);
            if (!inclusive) {
                while (lo < hi && bi - L->b[lo] >= r) lo++;
                while (hi > lo && L->b[hi - 1] - bi >= r) hi--;
            }
            out[i] = (hi - lo) - (inclusive || r > 0);
            continue;
        }
        for (Py_ssize_t c = 0; c < L->dim; c++) centre[c] = L->coords[c * n + i];
        int64_t m = 0;
        for (Py_ssize_t s = 0; s < slabs; s++) { /* the slabs' a-ranges ascend */
            if (ai - L->amax[s] > r) continue;
            if (L->amin[s] - ai > r) break;
            Py_ssize_t slab_hi = (s + 1) * w < n ? (s + 1) * w : n;
            Py_ssize_t lo = run_start(L->b, s * w, slab_hi, bi, r);
            Py_ssize_t hi = run_end(L->b, lo, slab_hi, bi, r);
            for (Py_ssize_t start = lo; start < hi; start += BLOCK) {
                Py_ssize_t len = hi - start < BLOCK ? hi - start : BLOCK;
                block_distances(L->coords, n, L->dim, centre, start, len, dist);
                if (inclusive)
                    for (Py_ssize_t t = 0; t < len; t++) m += dist[t] <= r;
                else
                    for (Py_ssize_t t = 0; t < len; t++) m += dist[t] < r;
            }
        }
        out[i] = m - (inclusive || r > 0); /* the point itself, at distance 0 */
    }
}
VECTOR_COPIES(void, , count_kernel,
              (const Layout *L, const double *radius, int inclusive, Py_ssize_t first, Py_ssize_t last,
               int64_t *out),
              (L, radius, inclusive, first, last, out))

/* Slab extents in a and the scratch space; 0 on success, -1 (MemoryError set) if out of memory.
 * The caller frees L->amin. */
static int layout(Layout *L, const double *coords, Py_ssize_t n, Py_ssize_t dim, Py_ssize_t bcol,
                  Py_ssize_t width) {
    Py_ssize_t slabs = (n + width - 1) / width;
    *L = (Layout){coords, n, dim, width, coords, coords + bcol * n, NULL, NULL, NULL, NULL};
    L->amin = malloc((2 * slabs + dim) * sizeof(double));
    if (!L->amin) {
        PyErr_NoMemory();
        return -1;
    }
    L->amax = L->amin + slabs;
    L->centre = L->amax + slabs;
    for (Py_ssize_t s = 0; s < slabs; s++) {
        L->amin[s] = INFINITY;
        L->amax[s] = -INFINITY;
        for (Py_ssize_t j = s * width; j < n && j < (s + 1) * width; j++) {
            L->amin[s] = L->a[j] < L->amin[s] ? L->a[j] : L->amin[s];
            L->amax[s] = L->a[j] > L->amax[s] ? L->a[j] : L->amax[s];
        }
    }
    return 0;
}

#include "_maxnorm_tree.h" /* the k-d tree: build, and count on it */
#include "_maxnorm_knn.h"  /* the k-th neighbour on the tree */
#include "_maxnorm_cells.h" /* the k-th neighbour on a grid of cells, in few dimensions */
#include "_maxnorm_grid.h" /* KSG between one-dimensional variables, many pairs */
#include "_maxnorm_plane.h" /* range counts in two dimensions, by one sweep */
#include "_maxnorm_scan.h" /* the same for variant 1, by scans along the sorted variables */

/* ------------------------------------------------------------------------- MixedKSG's float32 filter
 *   band_count(values, rows, cols, sure, maybe, shift, col_sure, col_maybe, out_sure, out_maybe,
 *              out_col_sure, out_col_maybe): for the C-contiguous float32 matrix values (rows x cols),
 *       per row i the entries > sure[i] and those >= maybe[i]; per column j the entries whose
 *       value - shift[i] is > col_sure[j] and those >= col_maybe[j] (added to the int64 outputs). One
 *       pass for both directions, where torch's comparisons and sums of booleans took five a direction
 *       (see iblearn.functional.knn.mixed).
 */
ALWAYS_INLINE void band_kernel_body(const float *v, Py_ssize_t rows, Py_ssize_t cols, const float *sure,
                                    const float *maybe, const float *shift, const float *csure,
                                    const float *cmaybe, int64_t *out_s, int64_t *out_m, int32_t *col_s,
                                    int32_t *col_m) {
    for (Py_ssize_t i = 0; i < rows; i++) {
        const float *row = v + i * cols, s = sure[i], m = maybe[i], h = shift[i];
        int32_t a = 0, b = 0; /* cols < 2^31, checked */
        for (Py_ssize_t j = 0; j < cols; j++) {
            const float x = row[j], y = x - h;
            a += x > s;
            b += x >= m;
            col_s[j] += y > csure[j];
            col_m[j] += y >= cmaybe[j];
        }
        out_s[i] += a;
        out_m[i] += b;
    }
}
VECTOR_COPIES(void, , band_kernel,
              (const float *v, Py_ssize_t rows, Py_ssize_t cols, const float *sure, const float *maybe,
               const float *shift, const float *csure, const float *cmaybe, int64_t *out_s, int64_t *out_m,
               int32_t *col_s, int32_t *col_m),
              (v, rows, cols, sure, maybe, shift, csure, cmaybe, out_s, out_m, col_s, col_m))

/* ------------------------------------------------------------------------------ Python bindings */
static int check(Py_buffer *b, const char *name, Py_ssize_t items, Py_ssize_t itemsize) {
    if (b->len != items * itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd items of %zd bytes, got %zd bytes", name, items,
                     itemsize, b->len);
        return 0;
    }
    return 1;
}

/* Sizes that describe real buffers: products n * dim * 8 (and n * k * 8) cannot overflow. */
static int shape_ok(Py_ssize_t n, Py_ssize_t dim, Py_ssize_t bcol, Py_ssize_t width, Py_ssize_t k,
                    Py_ssize_t first, Py_ssize_t last) {
    if (n >= 1 && dim >= 1 && k >= 1 && bcol >= 0 && bcol < dim && width >= 1 && 0 <= first &&
        first <= last && last <= n && dim <= PY_SSIZE_T_MAX / 8 / n && k <= PY_SSIZE_T_MAX / 8 / n)
        return 1;
    PyErr_SetString(PyExc_ValueError, "need n, dim, k >= 1, 0 <= bcol < dim, width >= 1, "
                                      "0 <= first <= last <= n and buffers that fit in memory");
    return 0;
}

/* A tree of `depth` levels below the root has 2^(depth + 1) - 1 nodes. */
static int tree_ok(Py_ssize_t n, Py_ssize_t dim, Py_ssize_t depth, Py_buffer *span, Py_buffer *boxes) {
    if (depth < 0 || depth > 40 || ((Py_ssize_t)1 << depth) > n || ((n - 1) >> depth) + 1 > LEAF_MAX) {
        PyErr_SetString(PyExc_ValueError, "need 0 <= depth, 2^depth <= n and leaves of at most 256 points");
        return 0;
    }
    Py_ssize_t nodes = ((Py_ssize_t)2 << depth) - 1;
    return check(span, "span", 2 * nodes, 8) && check(boxes, "boxes", 2 * nodes * dim, 8);
}

static PyObject *py_build(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer pts, order, span, boxes, data;
    Py_ssize_t n, dim, depth;
    if (!PyArg_ParseTuple(args, "y*nnnw*w*w*w*", &pts, &n, &dim, &depth, &order, &span, &boxes, &data))
        return NULL;
    int ok = shape_ok(n, dim, 0, 1, 1, 0, n) && check(&pts, "points", n * dim, 8) &&
             check(&order, "order", n, 8) && tree_ok(n, dim, depth, &span, &boxes) &&
             check(&data, "data", n * dim, 8);
    if (ok) {
        int64_t *idx = order.buf;
        for (Py_ssize_t p = 0; p < n; p++) idx[p] = p;
        Py_BEGIN_ALLOW_THREADS
        build_node(pts.buf, dim, ((Py_ssize_t)1 << depth) - 1, 0, 0, n, idx, span.buf, boxes.buf, data.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&data);
    PyBuffer_Release(&pts);
    PyBuffer_Release(&order);
    PyBuffer_Release(&span);
    PyBuffer_Release(&boxes);
    return ok ? Py_NewRef(Py_None) : NULL;
}

/* A layout as the Python side passes it: the tuple (coords, n, dim, bcol, width) of the slabs or
 * (data, n, dim, depth, span, boxes[, data32, leaf_max]) of the k-d tree, parsed, checked and made ready
 * for a kernel. */
typedef struct {
    int is_tree;
    Py_buffer coords, span, boxes, order, data32, leaf_max;
    Py_ssize_t n;
    Layout L;
    Tree T;
    double *centre; /* the tree's scratch (the slabs keep theirs in L) */
} Args;

/* 1 on success, else 0 with an exception set; release_args(a) afterwards either way. */
static int parse_args(PyObject *spec, Args *a, Py_ssize_t k, Py_ssize_t first, Py_ssize_t last) {
    memset(a, 0, sizeof *a);
    Py_ssize_t dim, bcol, width, depth;
    if (PyTuple_Check(spec) && PyTuple_GET_SIZE(spec) == 5) {
        if (!PyArg_ParseTuple(spec, "y*nnnn", &a->coords, &a->n, &dim, &bcol, &width)) return 0;
        return shape_ok(a->n, dim, bcol, width, k, first, last) && check(&a->coords, "coords", a->n * dim, 8) &&
               layout(&a->L, a->coords.buf, a->n, dim, bcol, width) == 0;
    }
    if (PyTuple_Check(spec) && (PyTuple_GET_SIZE(spec) == 6 || PyTuple_GET_SIZE(spec) == 8)) {
        a->is_tree = 1;
        if (!PyArg_ParseTuple(spec, "y*nnny*y*|y*y*", &a->coords, &a->n, &dim, &depth, &a->span, &a->boxes,
                              &a->data32, &a->leaf_max))
            return 0;
        if (!(shape_ok(a->n, dim, 0, 1, k, first, last) && check(&a->coords, "coords", a->n * dim, 8) &&
              tree_ok(a->n, dim, depth, &a->span, &a->boxes) &&
              (!a->data32.obj || (check(&a->data32, "data32", a->n * dim, 4) &&
                                  check(&a->leaf_max, "leaf_max", (Py_ssize_t)1 << depth, 8)))))
            return 0;
        a->T = (Tree){a->coords.buf, a->boxes.buf, a->data32.buf, a->leaf_max.buf, a->span.buf, a->n, dim,
                      ((Py_ssize_t)1 << depth) - 1};
        if (!(a->centre = malloc(2 * dim * sizeof(double)))) { /* a point, a box centre */
            PyErr_NoMemory();
            return 0;
        }
        return 1;
    }
    PyErr_SetString(PyExc_TypeError, "layout: expected the slabs' 5-tuple or the tree's 6-tuple");
    return 0;
}

static void release_args(Args *a) {
    free(a->L.amin);
    free(a->centre);
    PyBuffer_Release(&a->coords);
    PyBuffer_Release(&a->span);
    PyBuffer_Release(&a->boxes);
    PyBuffer_Release(&a->order);
    PyBuffer_Release(&a->data32);
    PyBuffer_Release(&a->leaf_max);
}

/* Release what a call holds; its result (None, or NULL with the exception set). */
static PyObject *finish(Args *a, int ok, Py_buffer *one, Py_buffer *two) {
    release_args(a);
    PyBuffer_Release(one);
    PyBuffer_Release(two);
    return ok ? Py_NewRef(Py_None) : NULL;
}

static PyObject *py_knn(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *spec, *order;
    Py_buffer out_d, out_i;
    Py_ssize_t k, first, last;
    if (!PyArg_ParseTuple(args, "OOnnnw*w*", &spec, &order, &k, &first, &last, &out_d, &out_i)) return NULL;
    Args a;
    int ok = parse_args(spec, &a, k, first, last) && k < a.n && check(&out_d, "out_dist", a.n * k, 8) &&
             check(&out_i, "out_idx", a.n * k, 8);
    if (!ok && !PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "knn: need 1 <= k < n");
    ok = ok && PyObject_GetBuffer(order, &a.order, PyBUF_SIMPLE) == 0 && check(&a.order, "order", a.n, 8);
    if (ok) {
        a.L.order = a.order.buf;
        Py_BEGIN_ALLOW_THREADS
        if (a.is_tree)
            tree_knn_kernel(&a.T, a.order.buf, k, first, last, a.centre, out_d.buf, out_i.buf);
        else
            knn_kernel(&a.L, k, first, last, out_d.buf, out_i.buf);
        Py_END_ALLOW_THREADS
    }
    return finish(&a, ok, &out_d, &out_i);
}

static PyObject *py_count(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *spec;
    Py_buffer radius, out;
    int inclusive;
    Py_ssize_t first, last;
    if (!PyArg_ParseTuple(args, "Oy*pnnw*", &spec, &radius, &inclusive, &first, &last, &out)) return NULL;
    Args a;
    int ok = parse_args(spec, &a, 1, first, last) && check(&radius, "radius", a.n, 8) && check(&out, "out", a.n, 8);
    if (ok) {
        Py_BEGIN_ALLOW_THREADS
        if (a.is_tree)
            tree_count_kernel(&a.T, radius.buf, inclusive, first, last, a.centre, out.buf);
        else
            count_kernel(&a.L, radius.buf, inclusive, first, last, out.buf);
        Py_END_ALLOW_THREADS
    }
    return finish(&a, ok, &radius, &out);
}

/* g^dim cells, at most n of them (so that none of the sizes overflows); 0 with a ValueError otherwise. */
static Py_ssize_t cells_ok(Py_ssize_t n, Py_ssize_t dim, Py_ssize_t g) {
    Py_ssize_t cells = 1;
    for (Py_ssize_t j = 0; j < dim && g >= 1 && cells <= n; j++) cells = cells > n / g ? n + 1 : cells * g;
    if (n >= 1 && n <= PY_SSIZE_T_MAX / 8 / CELL_MAXD && dim >= 1 && dim <= CELL_MAXD && g >= 1 && cells <= n)
        return cells;
    PyErr_Format(PyExc_ValueError, "need n >= 1, 1 <= dim <= %d and 1 <= g with g^dim <= n", CELL_MAXD);
    return 0;
}

static PyObject *py_cells(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer pts, order, bounds, start, data;
    Py_ssize_t n, dim, g, cells;
    if (!PyArg_ParseTuple(args, "y*nnnw*w*w*w*", &pts, &n, &dim, &g, &order, &bounds, &start, &data)) return NULL;
    int ok = (cells = cells_ok(n, dim, g)) && check(&pts, "points", n * dim, 8) && check(&order, "order", n, 8) &&
             check(&bounds, "bounds", dim * (g + 1), 8) && check(&start, "start", cells + 1, 8) &&
             check(&data, "data", n * dim, 8);
    if (ok) {
        int failed;
        Py_BEGIN_ALLOW_THREADS
        failed = cells_build(pts.buf, n, dim, g, order.buf, bounds.buf, start.buf, data.buf);
        Py_END_ALLOW_THREADS
        if (failed) {
            PyErr_NoMemory();
            ok = 0;
        }
    }
    Py_buffer *held[] = {&pts, &order, &bounds, &start, &data};
    for (int b = 0; b < 5; b++) PyBuffer_Release(held[b]);
    return ok ? Py_NewRef(Py_None) : NULL;
}

static PyObject *py_cells_knn(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer data, bounds, start, order, out_d, out_i;
    Py_ssize_t n, dim, g, k, first, last, cells;
    if (!PyArg_ParseTuple(args, "(y*nnny*y*)y*nnnw*w*", &data, &n, &dim, &g, &bounds, &start, &order, &k, &first,
                          &last, &out_d, &out_i))
        return NULL;
    int ok = (cells = cells_ok(n, dim, g)) && check(&data, "data", n * dim, 8) &&
             check(&bounds, "bounds", dim * (g + 1), 8) && check(&start, "start", cells + 1, 8) &&
             check(&order, "order", n, 8);
    if (ok && !(1 <= k && k < n && k <= PY_SSIZE_T_MAX / 8 / n && 0 <= first && first <= last && last <= n)) {
        PyErr_SetString(PyExc_ValueError, "cells_knn: need 1 <= k < n and 0 <= first <= last <= n");
        ok = 0;
    }
    ok = ok && check(&out_d, "out_dist", n * k, 8) && check(&out_i, "out_idx", n * k, 8);
    if (ok) {
        const Cells C = {data.buf, bounds.buf, start.buf, n, dim, g};
        Py_BEGIN_ALLOW_THREADS
        cells_knn_kernel(&C, order.buf, k, first, last, out_d.buf, out_i.buf);
        Py_END_ALLOW_THREADS
    }
    Py_buffer *held[] = {&data, &bounds, &start, &order, &out_d, &out_i};
    for (int b = 0; b < 6; b++) PyBuffer_Release(held[b]);
    return ok ? Py_NewRef(Py_None) : NULL;
}

static PyObject *py_cells_count(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer data, bounds, start, radius, out;
    Py_ssize_t n, dim, g, first, last, cells;
    int inclusive;
    if (!PyArg_ParseTuple(args, "(y*nnny*y*)y*pnnw*", &data, &n, &dim, &g, &bounds, &start, &radius, &inclusive,
                          &first, &last, &out))
        return NULL;
    int ok = (cells = cells_ok(n, dim, g)) && check(&data, "data", n * dim, 8) &&
             check(&bounds, "bounds", dim * (g + 1), 8) && check(&start, "start", cells + 1, 8) &&
             check(&radius, "radius", n, 8) && check(&out, "out", n, 8);
    if (ok && !(0 <= first && first <= last && last <= n)) {
        PyErr_SetString(PyExc_ValueError, "cells_count: need 0 <= first <= last <= n");
        ok = 0;
    }
    if (ok) {
        const Cells C = {data.buf, bounds.buf, start.buf, n, dim, g};
        Py_BEGIN_ALLOW_THREADS
        cells_count_kernel(&C, radius.buf, inclusive, first, last, out.buf);
        Py_END_ALLOW_THREADS
    }
    Py_buffer *held[] = {&data, &bounds, &start, &radius, &out};
    for (int b = 0; b < 5; b++) PyBuffer_Release(held[b]);
    return ok ? Py_NewRef(Py_None) : NULL;
}

/* The sweep's counts (_maxnorm_plane.h) in the planes of `trees` coordinates with the last, and with
 * `trees` 2 on the last alone: the outputs `outs`, as many as `names`; the buffers released. */
static PyObject *sweep_counts(Py_buffer *sorted, Py_buffer *ranks, Py_ssize_t n, Py_buffer *radius, int inclusive,
                              int trees, Py_buffer *outs, const char *const *names) {
    const int dim = trees + 1, nout = trees + (trees > 1);
    int ok = n >= 1 && n <= INT32_MAX && n <= PY_SSIZE_T_MAX / 8 / dim; /* the Fenwick trees count in 32 bits */
    if (!ok) PyErr_SetString(PyExc_ValueError, "need 1 <= n < 2**31 and buffers that fit in memory");
    ok = ok && check(sorted, "sorted", dim * n, 8) && check(ranks, "ranks", dim * n, 8) &&
         check(radius, "radius", n, 8);
    for (int t = 0; t < nout; t++) ok = ok && check(&outs[t], names[t], n, 8);
    if (ok) {
        int failed;
        Py_BEGIN_ALLOW_THREADS
        failed = trees > 1 ? cmi_plane_count_kernel(sorted->buf, ranks->buf, n, radius->buf, inclusive,
                                                    outs[0].buf, outs[1].buf, outs[2].buf)
                           : plane_count_kernel(sorted->buf, ranks->buf, n, radius->buf, inclusive, outs[0].buf);
        Py_END_ALLOW_THREADS
        if (failed) {
            PyErr_NoMemory();
            ok = 0;
        }
    }
    PyBuffer_Release(sorted);
    PyBuffer_Release(ranks);
    PyBuffer_Release(radius);
    for (int t = 0; t < nout; t++) PyBuffer_Release(&outs[t]);
    return ok ? Py_NewRef(Py_None) : NULL;
}

static PyObject *py_plane_count(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer sorted, ranks, radius, out[1];
    Py_ssize_t n;
    int inclusive;
    if (!PyArg_ParseTuple(args, "y*y*ny*pw*", &sorted, &ranks, &n, &radius, &inclusive, &out[0])) return NULL;
    static const char *const names[] = {"out"};
    return sweep_counts(&sorted, &ranks, n, &radius, inclusive, 1, out, names);
}

static PyObject *py_cmi_plane_count(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer sorted, ranks, radius, out[3];
    Py_ssize_t n;
    int inclusive;
    if (!PyArg_ParseTuple(args, "y*y*ny*pw*w*w*", &sorted, &ranks, &n, &radius, &inclusive, &out[0], &out[1],
                          &out[2]))
        return NULL;
    static const char *const names[] = {"out_nxz", "out_nyz", "out_nz"};
    return sweep_counts(&sorted, &ranks, n, &radius, inclusive, 2, out, names);
}

static PyObject *py_band_count(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer v, sure, maybe, shift, csure, cmaybe, out_s, out_m, out_cs, out_cm;
    Py_ssize_t rows, cols;
    if (!PyArg_ParseTuple(args, "y*nny*y*y*y*y*w*w*w*w*", &v, &rows, &cols, &sure, &maybe, &shift, &csure, &cmaybe,
                          &out_s, &out_m, &out_cs, &out_cm))
        return NULL;
    int ok = rows >= 0 && cols >= 1 && cols < INT32_MAX && rows <= PY_SSIZE_T_MAX / 4 / cols;
    if (!ok) PyErr_SetString(PyExc_ValueError, "need rows >= 0 and 1 <= cols < 2^31");
    ok = ok && check(&v, "values", rows * cols, 4) && check(&sure, "sure", rows, 4) &&
         check(&maybe, "maybe", rows, 4) && check(&shift, "shift", rows, 4) && check(&csure, "col_sure", cols, 4) &&
         check(&cmaybe, "col_maybe", cols, 4) && check(&out_s, "out_sure", rows, 8) &&
         check(&out_m, "out_maybe", rows, 8) && check(&out_cs, "out_col_sure", cols, 8) &&
         check(&out_cm, "out_col_maybe", cols, 8);
    int32_t *col = NULL;
    if (ok && !(col = calloc(2 * cols, sizeof(int32_t)))) {
        PyErr_NoMemory();
        ok = 0;
    }
    if (ok) {
        int64_t *cs = out_cs.buf, *cm = out_cm.buf;
        Py_BEGIN_ALLOW_THREADS
        band_kernel(v.buf, rows, cols, sure.buf, maybe.buf, shift.buf, csure.buf, cmaybe.buf, out_s.buf, out_m.buf,
                    col, col + cols);
        for (Py_ssize_t j = 0; j < cols; j++) {
            cs[j] += col[j];
            cm[j] += col[cols + j];
        }
        Py_END_ALLOW_THREADS
    }
    free(col);
    Py_buffer *held[] = {&v, &sure, &maybe, &shift, &csure, &cmaybe, &out_s, &out_m, &out_cs, &out_cm};
    for (int b = 0; b < 10; b++) PyBuffer_Release(held[b]);
    return ok ? Py_NewRef(Py_None) : NULL;
}

static PyObject *py_pairs(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer sorted, ranks, pairs, out_nx, out_ny;
    Py_ssize_t n, k, cell;
    int variant;
    if (!PyArg_ParseTuple(args, "y*y*ny*ninw*w*", &sorted, &ranks, &n, &pairs, &k, &variant, &cell, &out_nx,
                          &out_ny))
        return NULL;
    Py_ssize_t m = n >= 1 ? sorted.len / 8 / n : 0, npairs = pairs.len / 16;
    int ok = n >= 2 && 1 <= k && k < n && (variant == 1 || variant == 2) && cell >= 1 && m >= 1 &&
             n <= PY_SSIZE_T_MAX / 8 / (npairs > m ? npairs : m);
    if (!ok) PyErr_SetString(PyExc_ValueError, "pairs: need n >= 2, 1 <= k < n, variant 1 or 2, cell >= 1");
    ok = ok && check(&sorted, "sorted", m * n, 8) && check(&ranks, "ranks", m * n, 8) &&
         check(&pairs, "pairs", 2 * npairs, 8) && check(&out_nx, "out_nx", npairs * n, 8) &&
         check(&out_ny, "out_ny", npairs * n, 8);
    const int64_t *pr = pairs.buf;
    for (Py_ssize_t p = 0; ok && p < 2 * npairs; p++)
        if (pr[p] < 0 || pr[p] >= m) {
            PyErr_SetString(PyExc_ValueError, "pairs: an index outside the variables");
            ok = 0;
        }
    const int64_t *rk = ranks.buf;
    for (Py_ssize_t p = 0; ok && p < m * n; p++)
        if (rk[p] < 0 || rk[p] >= n) {
            PyErr_SetString(PyExc_ValueError, "ranks: a rank outside [0, n)");
            ok = 0;
        }
    Py_ssize_t c = cell < n ? cell : n, g = (n + c - 1) / c, failed = -1;
    Grid G = {0};
    double *best = NULL;
    int64_t *who = NULL;
    if (ok) {
        G.n = n, G.c = c, G.g = g;
        G.start = malloc((2 * g * g + 1 + n) * sizeof(Py_ssize_t));
        G.px = malloc(2 * n * sizeof(double));
        G.pid = malloc(n * sizeof(int64_t));
        best = malloc(k * sizeof(double));
        who = malloc(k * sizeof(int64_t));
        if (!G.start || !G.px || !G.pid || !best || !who) {
            PyErr_NoMemory();
            ok = 0;
        } else {
            G.fill = G.start + g * g + 1;
            G.cellof = G.fill + g * g;
            G.py = G.px + n;
        }
    }
    if (ok) {
        const double *s = sorted.buf;
        int64_t *nx = out_nx.buf, *ny = out_ny.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t p = 0; p < npairs; p++) {
            G.xs = s + pr[2 * p] * n, G.ys = s + pr[2 * p + 1] * n;
            G.rx = rk + pr[2 * p] * n, G.ry = rk + pr[2 * p + 1] * n;
            grid_fill(&G);
            if (grid_ksg(&G, k, variant, best, who, nx + p * n, ny + p * n) < 0) {
                failed = p;
                break;
            }
        }
        Py_END_ALLOW_THREADS
    }
    free(G.start);
    free(G.px);
    free(G.pid);
    free(best);
    free(who);
    Py_buffer *held[] = {&sorted, &ranks, &pairs, &out_nx, &out_ny};
    for (int b = 0; b < 5; b++) PyBuffer_Release(held[b]);
    return ok ? PyLong_FromSsize_t(failed) : NULL;
}

/* scan(sorted, ranks, n, pairs, k, table, out_a, out_b[, level]): see _maxnorm_scan.h; with table None,
 * out_a and out_b get n_x and n_y (int64), else out_a gets the terms (float64) and out_b is not written. */
static PyObject *py_scan(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer sorted, ranks, pairs, table = {0}, out_a, out_b;
    PyObject *table_obj;
    Py_ssize_t n, k;
    int level = ISA_AVX512;
    if (!PyArg_ParseTuple(args, "y*y*ny*nOw*w*|i", &sorted, &ranks, &n, &pairs, &k, &table_obj, &out_a, &out_b,
                          &level))
        return NULL;
    const int terms = table_obj != Py_None;
    Py_ssize_t m = n >= 1 ? sorted.len / 8 / n : 0, npairs = pairs.len / 16;
    int ok = n >= 2 && 1 <= k && k < n && k <= SCAN_KMAX && m >= 1 &&
             n <= PY_SSIZE_T_MAX / 8 / (npairs > m ? npairs : m);
    if (!ok) PyErr_Format(PyExc_ValueError, "scan: need n >= 2 and 1 <= k < n, k <= %d", SCAN_KMAX);
    ok = ok && (!terms || PyObject_GetBuffer(table_obj, &table, PyBUF_SIMPLE) == 0);
    ok = ok && check(&sorted, "sorted", m * n, 8) && check(&ranks, "ranks", m * n, 8) &&
         check(&pairs, "pairs", 2 * npairs, 8) && check(&out_a, "out_a", npairs * n, 8) &&
         (terms ? check(&table, "table", n, 8) : check(&out_b, "out_b", npairs * n, 8));
    const int64_t *pr = pairs.buf;
    for (Py_ssize_t p = 0; ok && p < 2 * npairs; p++)
        if (pr[p] < 0 || pr[p] >= m) {
            PyErr_SetString(PyExc_ValueError, "pairs: an index outside the variables");
            ok = 0;
        }
    ScanScratch S = {0};
    ok = ok && scan_scratch(&S, ranks.buf, n, m, level) == 0;
    Py_ssize_t failed = -1;
    if (ok) {
        const int64_t *rk = ranks.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t p = 0; p < npairs; p++) {
            const int64_t a = pr[2 * p], b = pr[2 * p + 1];
            if (scan_pair(&S, sorted.buf, rk, a, b, k) < 0) {
                failed = p;
                break;
            }
            scan_output(&S, rk + a * n, rk + b * n, terms ? table.buf : NULL, p, out_a.buf, out_b.buf, out_a.buf);
        }
        Py_END_ALLOW_THREADS
    }
    free(S.xs);
    Py_buffer *held[] = {&sorted, &ranks, &pairs, &table, &out_a, &out_b};
    for (int b = 0; b < 6; b++) PyBuffer_Release(held[b]);
    return ok ? PyLong_FromSsize_t(failed) : NULL;
}

/* Frenzel-Pompe's radius and counts of one candidate x (1-d) against a fixed (y, z): points (n, dim)
 * row-major, y its first ydim columns and z the rest. Row i of nbr_yz / d_yz lists point i's my nearest
 * in the (y, z) space by max-norm distance ascending (self left out), and bound_yz[i] is the distance no
 * unlisted point is below (the next neighbour's); likewise nbr_z / d_z / bound_z in the z space. The
 * joint distance is max(|x_i - x_j|, d_yz(i, j)) >= d_yz(i, j), so the scan of row i stops at the first
 * listed distance at or beyond its k-th joint distance so far; every point within the radius in (y, z)
 * or in z is listed where the radius is at most the bound. A row whose radius passes a bound (a point
 * in a sparse region) is measured against all points instead. Writes eps, n_xz, n_yz, n_z (strict
 * counts, self left out); returns the number of rows measured against all points. */
#define LISTED_KMAX 64
static inline void listed_insert(double *best, Py_ssize_t k, double d) {
    Py_ssize_t t = k - 1;
    for (; t > 0 && best[t - 1] > d; t--) best[t] = best[t - 1];
    best[t] = d;
}

static void listed_row_all(const double *x, const double *pts, Py_ssize_t n, Py_ssize_t dim, Py_ssize_t ydim,
                           Py_ssize_t k, Py_ssize_t i, double *eps, int64_t *nxz, int64_t *nyz, int64_t *nz) {
    double best[LISTED_KMAX] = {0};
    for (Py_ssize_t t = 0; t < k; t++) best[t] = INFINITY;
    const double xi = x[i], *pi = pts + i * dim;
    for (Py_ssize_t j = 0; j < n; j++) {
        if (j == i) continue;
        double d = fabs(xi - x[j]);
        for (Py_ssize_t c = 0; c < dim; c++) {
            const double a = fabs(pi[c] - pts[j * dim + c]);
            d = a > d ? a : d;
        }
        if (d < best[k - 1]) listed_insert(best, k, d);
    }
    const double r = best[k - 1];
    int64_t cxz = 0, cyz = 0, cz = 0;
    for (Py_ssize_t j = 0; j < n; j++) {
        if (j == i) continue;
        double dy = 0.0, dz = 0.0;
        for (Py_ssize_t c = 0; c < dim; c++) {
            const double a = fabs(pi[c] - pts[j * dim + c]);
            if (c < ydim)
                dy = a > dy ? a : dy;
            else
                dz = a > dz ? a : dz;
        }
        const double dx = fabs(xi - x[j]);
        cz += dz < r;
        cyz += (dy > dz ? dy : dz) < r;
        cxz += (dx > dz ? dx : dz) < r;
    }
    eps[i] = r;
    nxz[i] = cxz;
    nyz[i] = cyz;
    nz[i] = cz;
}

static Py_ssize_t listed_kernel(const double *x, const double *pts, Py_ssize_t n, Py_ssize_t dim, Py_ssize_t ydim,
                                Py_ssize_t k, const int64_t *nbr_yz, const double *d_yz, const double *bound_yz,
                                Py_ssize_t my, const int64_t *nbr_z, const double *d_z, const double *bound_z,
                                Py_ssize_t mz, double *eps, int64_t *nxz, int64_t *nyz, int64_t *nz) {
    Py_ssize_t missed = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double best[LISTED_KMAX] = {0};
        for (Py_ssize_t t = 0; t < k; t++) best[t] = INFINITY;
        const int64_t *nb = nbr_yz + i * my;
        const double *dd = d_yz + i * my, xi = x[i];
        for (Py_ssize_t j = 0; j < my && dd[j] < best[k - 1]; j++) {
            const double a = fabs(xi - x[nb[j]]), joint = a > dd[j] ? a : dd[j];
            if (joint < best[k - 1]) listed_insert(best, k, joint);
        }
        const double r = best[k - 1];
        if (!(r <= bound_yz[i] && r <= bound_z[i])) {
            listed_row_all(x, pts, n, dim, ydim, k, i, eps, nxz, nyz, nz);
            missed++;
            continue;
        }
        Py_ssize_t cy = 0;
        while (cy < my && dd[cy] < r) cy++;
        const int64_t *nbz = nbr_z + i * mz;
        const double *dz = d_z + i * mz;
        Py_ssize_t lo = 0, hi = mz; /* the first listed z distance at or beyond r */
        while (lo < hi) {
            const Py_ssize_t mid = lo + (hi - lo) / 2;
            if (dz[mid] < r)
                lo = mid + 1;
            else
                hi = mid;
        }
        int64_t cxz = 0;
        for (Py_ssize_t j = 0; j < lo; j++) cxz += fabs(xi - x[nbz[j]]) < r;
        eps[i] = r;
        nyz[i] = cy;
        nz[i] = lo;
        nxz[i] = cxz;
    }
    return missed;
}

static PyObject *py_listed(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer x, pts, nby, dy, by, nbz, dz, bz, eps, cxz, cyz, cz;
    Py_ssize_t n, dim, ydim, k, my, mz;
    if (!PyArg_ParseTuple(args, "y*y*nnnny*y*y*ny*y*y*nw*w*w*w*", &x, &pts, &n, &dim, &ydim, &k, &nby, &dy, &by, &my,
                          &nbz, &dz, &bz, &mz, &eps, &cxz, &cyz, &cz))
        return NULL;
    int ok = n >= 1 && k >= 1 && k <= LISTED_KMAX && my >= k && mz >= 0 && my <= n && mz <= n && ydim >= 1 &&
             dim > ydim && dim <= n;
    if (!ok)
        PyErr_SetString(PyExc_ValueError, "need n >= 1, 1 <= k <= 64, k <= my <= n, 0 <= mz <= n, 1 <= ydim < dim");
    ok = ok && check(&x, "x", n, 8) && check(&pts, "points", n * dim, 8) && check(&nby, "nbr_yz", n * my, 8) &&
         check(&dy, "d_yz", n * my, 8) && check(&by, "bound_yz", n, 8) && check(&nbz, "nbr_z", n * mz, 8) &&
         check(&dz, "d_z", n * mz, 8) && check(&bz, "bound_z", n, 8) && check(&eps, "out_eps", n, 8) &&
         check(&cxz, "out_nxz", n, 8) && check(&cyz, "out_nyz", n, 8) && check(&cz, "out_nz", n, 8);
    Py_ssize_t missed = -1;
    if (ok) {
        Py_BEGIN_ALLOW_THREADS
        missed = listed_kernel(x.buf, pts.buf, n, dim, ydim, k, nby.buf, dy.buf, by.buf, my, nbz.buf, dz.buf, bz.buf,
                               mz, eps.buf, cxz.buf, cyz.buf, cz.buf);
        Py_END_ALLOW_THREADS
    }
    Py_buffer *all[] = {&x, &pts, &nby, &dy, &by, &nbz, &dz, &bz, &eps, &cxz, &cyz, &cz};
    for (size_t b = 0; b < sizeof all / sizeof all[0]; b++) PyBuffer_Release(all[b]);
    return ok ? PyLong_FromSsize_t(missed) : NULL;
}

#include "_maxnorm_listed.h"
#include "_maxnorm_sieve.h" /* the autoregressive sieve bootstrap's series */

static PyObject *py_listed_many(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer xs, pts, nby, dy, by, nbz, dz, bz, eps, cxz, cyz, cz;
    Py_ssize_t count, n, dim, ydim, k, my, mz;
    if (!PyArg_ParseTuple(args, "y*ny*nnnny*y*y*ny*y*y*nw*w*w*w*", &xs, &count, &pts, &n, &dim, &ydim, &k, &nby, &dy,
                          &by, &my, &nbz, &dz, &bz, &mz, &eps, &cxz, &cyz, &cz))
        return NULL;
    int ok = count >= 0 && n >= 1 && k >= 1 && k <= LISTED_KMAX && my >= k && mz >= 0 && my <= n && mz <= n &&
             ydim >= 1 && dim > ydim && dim <= n;
    if (!ok)
        PyErr_SetString(PyExc_ValueError,
                        "need count >= 0, n >= 1, 1 <= k <= 64, k <= my <= n, 0 <= mz <= n, 1 <= ydim < dim");
    ok = ok && check(&xs, "xs", count * n, 8) && check(&pts, "points", n * dim, 8) &&
         check(&nby, "nbr_yz", n * my, 8) && check(&dy, "d_yz", n * my, 8) && check(&by, "bound_yz", n, 8) &&
         check(&nbz, "nbr_z", n * mz, 8) && check(&dz, "d_z", n * mz, 8) && check(&bz, "bound_z", n, 8) &&
         check(&eps, "out_eps", count * n, 8) && check(&cxz, "out_nxz", count * n, 8) &&
         check(&cyz, "out_nyz", count * n, 8) && check(&cz, "out_nz", count * n, 8);
    Py_ssize_t missed = -1;
    if (ok) {
        Py_BEGIN_ALLOW_THREADS
        missed = listed_many_kernel(xs.buf, count, pts.buf, n, dim, ydim, k, nby.buf, dy.buf, by.buf, my, nbz.buf,
                                    dz.buf, bz.buf, mz, eps.buf, cxz.buf, cyz.buf, cz.buf);
        Py_END_ALLOW_THREADS
        if (missed < 0) {
            PyErr_NoMemory();
            ok = 0;
        }
    }
    Py_buffer *all[] = {&xs, &pts, &nby, &dy, &by, &nbz, &dz, &bz, &eps, &cxz, &cyz, &cz};
    for (size_t b = 0; b < sizeof all / sizeof all[0]; b++) PyBuffer_Release(all[b]);
    return ok ? PyLong_FromSsize_t(missed) : NULL;
}

/* _set_isa(name): the tests' switch between the instruction sets within one process, capped as
 * IBLEARN_SIMD's value is; sets ISA and returns the name of the set it replaced. Only while no kernel
 * call runs in another thread: they read kernel_isa without the GIL. */
static PyObject *py_set_isa(PyObject *module, PyObject *arg) {
    const char *name = PyUnicode_AsUTF8(arg);
    if (!name) return NULL;
    const int isa = isa_named(name), previous = kernel_isa;
    if (isa < 0) return PyErr_Format(PyExc_ValueError, "isa: expected portable, avx2 or avx512, got '%s'", name);
    if (PyModule_AddStringConstant(module, "ISA", ISA_NAMES[isa]) < 0) return NULL;
    kernel_isa = isa;
    return PyUnicode_FromString(ISA_NAMES[previous]);
}

static PyMethodDef methods[] = {
    {"knn", py_knn, METH_VARARGS,
     "knn(layout, order, k, first, last, out_dist, out_idx): k nearest in the max-norm by (distance, index), "
     "by the slabs or the tree."},
    {"count", py_count, METH_VARARGS,
     "count(layout, radius, inclusive, first, last, out): points within radius, by the slabs or the tree."},
    {"cells", py_cells, METH_VARARGS,
     "cells(points, n, dim, g, out_order, out_bounds, out_start, out_data): a grid of g^dim cells."},
    {"cells_knn", py_cells_knn, METH_VARARGS,
     "cells_knn(layout, order, k, first, last, out_dist, out_idx): knn's answers on the grid of cells."},
    {"cells_count", py_cells_count, METH_VARARGS,
     "cells_count(layout, radius, inclusive, first, last, out): count's answers on the grid of cells, radius and "
     "out in its layout's order."},
    {"plane_count", py_plane_count, METH_VARARGS,
     "plane_count(sorted, ranks, n, radius, inclusive, out): points within radius in two dimensions, from the "
     "coordinates sorted and the points' ranks in them."},
    {"cmi_plane_count", py_cmi_plane_count, METH_VARARGS,
     "cmi_plane_count(sorted, ranks, n, radius, inclusive, out_nxz, out_nyz, out_nz): points within radius in "
     "the (x, z) and (y, z) planes and on z, from the three coordinates sorted and the points' ranks in them."},
    {"build", py_build, METH_VARARGS,
     "build(points, n, dim, depth, out_order, out_span, out_boxes, out_data): a k-d tree."},
    {"pairs", py_pairs, METH_VARARGS,
     "pairs(sorted, ranks, n, pairs, k, variant, cell, out_nx, out_ny): KSG's counts for pairs of 1-d "
     "variables; the first pair whose distances overflowed, or -1."},
    {"scan", py_scan, METH_VARARGS,
     "scan(sorted, ranks, n, pairs, k, table, out_a, out_b[, level]): KSG's variant 1 counts (table None) "
     "or terms for pairs of 1-d variables, by scans; the first pair whose distances overflowed, or -1."},
    {"band_count", py_band_count, METH_VARARGS,
     "band_count(values, rows, cols, sure, maybe, shift, col_sure, col_maybe, out_sure, out_maybe, "
     "out_col_sure, out_col_maybe): float32 counts by row and by column."},
    {"listed", py_listed, METH_VARARGS,
     "listed(x, points, n, dim, ydim, k, nbr_yz, d_yz, bound_yz, my, nbr_z, d_z, bound_z, mz, out_eps, out_nxz, "
     "out_nyz, out_nz): Frenzel-Pompe's radius and counts of a 1-d x from listed neighbours; the number of rows "
     "measured against all points."},
    {"listed_many", py_listed_many, METH_VARARGS,
     "listed_many(xs, count, points, n, dim, ydim, k, nbr_yz, d_yz, bound_yz, my, nbr_z, d_z, bound_z, mz, out_eps, "
     "out_nxz, out_nyz, out_nz): listed's radii and counts of count 1-d candidates, xs (count, n), each output "
     "(count, n); the number of points measured against all points, once for a vector's width of candidates."},
    {"sieve", py_sieve, METH_VARARGS,
     "sieve(x, n, seeds, rows, c, phi, q, e, m, out): the autoregressive sieve bootstrap's series, a seed "
     "a row."},
    {"_set_isa", py_set_isa, METH_O,
     "_set_isa(name): for the tests, the instruction set of the kernel calls that follow (capped at the CPU's "
     "widest); the name of the one it replaced."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_maxnorm",
    .m_doc = "Exact max-norm k-nearest-neighbour search and range counts.",
    .m_size = -1,
    .m_methods = methods,
};

/* ISA: the instruction set every kernel call of this process runs (choose_isa), by IBLEARN_SIMD's name
 * for it; an IBLEARN_SIMD that names none fails the import. */
PyMODINIT_FUNC PyInit__maxnorm(void) {
    if ((kernel_isa = choose_isa()) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m && (PyModule_AddIntConstant(m, "SCAN_KMAX", SCAN_KMAX) < 0 ||
              PyModule_AddIntConstant(m, "SIEVE_ORDER", SIEVE_ORDER) < 0 ||
              PyModule_AddStringConstant(m, "ISA", ISA_NAMES[kernel_isa]) < 0))
        Py_CLEAR(m);
    return m;
}
