/* The soft self-consistent iteration of the information bottleneck with SQUAREM, one encoder at a time.
 *
 * The same equations, cycles and stopping rule as iblearn.functional.ib.iterate_np.iterate (see there and
 * iterate.py): per encoder q(t|x) at its beta, a cycle takes two steps of
 *
 *     q(t|x) proportional to exp[(log q(t) + beta sum_y p(y|x) log q(y|t)) / alpha],
 *
 * extrapolates log q along them (Varadhan & Roland 2008) by a length bounded as _step_cap bounds it,
 * takes one step from there, keeps that only where it lowers L = H(T) - alpha H(T|X) - beta I(T; Y),
 * and stops when L falls by less than tol (1 + |L|) in a cycle or after max_iter steps; a run still
 * going after DRIFT_START steps also jumps along its drift over the last cycles (drift_jump).
 *
 * Why C: at the sizes the IB is solved at (tens of x, a few y) a step is a few thousand multiply-adds,
 * less than the fixed cost of the dozen numpy calls it takes; here a step costs its arithmetic. Every
 * value of T is iterated, the empty ones too, exactly as in numpy: an empty value's log q(t|x) sits at
 * the floor log(1e-300), which the extrapolation turns into a mass of about 1e-300, and that mass grows
 * where a cluster gains by splitting into it (the search finds some of its splits this way).
 *
 *   iterate(p, q, betas, n_x, n_y, n_t, alpha, tol, max_iter, bounded): p (n_x, n_y) C-contiguous
 *       float64 with every row of positive mass, q (B, n_x, n_t) C-contiguous float64 rows summing to 1,
 *       overwritten with the answer; betas (B,). Releases the GIL.
 *   anneal(p, q0, out, settled, betas, (n_x, n_y, n_t), alpha, tol, max_iter, (empty, twin, every)):
 *       the annealing path of iblearn.functional.ib.anneal from q0 (n_x, n_t) at the last of the sorted
 *       betas (B,) down, each answer written into out (B, n_x, n_t), zero-padded (the values of T
 *       dropped or merged on the way, looked for every `every` steps), and settled (B,) to the steps
 *       after which each answer settled at tol (no value of T merged or dropped after; 0 where it did
 *       not). Releases the GIL.
 *
 * Three copies of the iteration, compiled for AVX-512 (eight lanes a loop over t), for AVX2 (four)
 * and for the build's target (the x86-64 baseline's two), picked at import: the widest the CPU runs,
 * or a narrower one that the environment variable IBLEARN_SIMD (the kNN kernel's,
 * functional/knn/_maxnorm.c) names, "avx2" or "portable". The module's ISA says which runs. All give the
 * same answers to the bit: the loops vectorise over t only,
 * each sum still added in its order, and C11 mode contracts no multiply-add into an FMA (so neither
 * copy uses one). The softmax's exponentials, one per cell of the encoder and step, are the kernel's
 * own (exp_nonpositive: within 1 ulp, plain arithmetic that vectorises in both copies, the same bits in
 * each); the logarithms are the C library's, which may pick its own per-CPU variants; they differ in
 * the last bit at most, as the tests' tolerances allow.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The Lagrangian's comparisons must see NaN and Inf as IEEE defines them (an overshooting jump is
 * caught by a NaN comparing false): _simd.h refuses a fast-math build. */
#include "../_simd.h"

/* Which copy runs, chosen once at import (ISA_PORTABLE the baseline's). */
static int isa = ISA_PORTABLE;

#define TINY 1e-300
/* exp(d) rounds to 0 below this (exp(-745.14) is under half the least subnormal) */
#define UNDERFLOW (-746.0)

typedef struct {
    const double *p, *pyx, *px;
    double hy, alpha, beta, log_floor;
    int nx, ny, k; /* k: the values of T */
    /* pty, lqyt: p(t, y) and log q(y|t) stored y-major (ny, k), so that the loops over t run over
     * contiguous memory (and vectorise) while each sum still adds its terms in the order of x or y */
    double *qt, *pty, *lqyt, *z, *head; /* head: log q(t), -inf where empty */
} Problem;

ALWAYS_INLINE double xlogx(double v) { return v > 0 ? v * log(v) : 0.0; }

ALWAYS_INLINE double from_bits(uint64_t u) {
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

ALWAYS_INLINE uint64_t to_bits(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* exp(d) for d <= 0 (or NaN, which it returns), within 1 ulp of the correctly rounded value (the
 * largest error over 16 million points of [-750, 0] against the C library's exp, subnormal results
 * included), 0 below UNDERFLOW. Plain arithmetic without a branch, so that a loop over t of it
 * vectorises in every copy of the iteration, each lane computing the same bits: d = n log 2 + r with
 * n = round(d / log 2) (the 1.5 2^52 shifter rounds it and leaves n in its low bits) and |r| <= log(2) / 2
 * (log 2 split in two, its high part exact times n), e^r by its Taylor polynomial of degree 13 (the
 * remainder under 5e-18 relative), and 2^n from its exponent bits, in two factors where n is below
 * -1000 so that a subnormal answer is rounded once. */
ALWAYS_INLINE double exp_nonpositive(double d) {
    const double shifter = 0x1.8p52, log2e = 0x1.71547652b82fep0;
    const double ln2_hi = 0x1.62e42fefa3800p-1, ln2_lo = 0x1.ef35793c7673p-45;
    double c = d < UNDERFLOW ? UNDERFLOW : d;
    double shifted = c * log2e + shifter;
    double n = shifted - shifter;
    double r = (c - n * ln2_hi) - n * ln2_lo;
    double e = 1.0 / 6227020800.0;
    e = e * r + 1.0 / 479001600.0;
    e = e * r + 1.0 / 39916800.0;
    e = e * r + 1.0 / 3628800.0;
    e = e * r + 1.0 / 362880.0;
    e = e * r + 1.0 / 40320.0;
    e = e * r + 1.0 / 5040.0;
    e = e * r + 1.0 / 720.0;
    e = e * r + 1.0 / 120.0;
    e = e * r + 1.0 / 24.0;
    e = e * r + 1.0 / 6.0;
    e = e * r + 0.5;
    e = (e * r * r + r) + 1.0;
    int deep = n < -1000;
    int64_t power = (int64_t)(to_bits(shifted) - to_bits(shifter)) + (deep ? 539 : 0);
    double out = e * from_bits((uint64_t)(power + 1023) << 52) * (deep ? 0x1p-539 : 1.0);
    return d < UNDERFLOW ? 0.0 : out;
}

/* q(t) and p(t, y) of the encoder q (nx, k). Four values of x at a time: each sum still adds its terms
 * in the order of x, one load and store of the sum per four. */
ALWAYS_INLINE void marginals(Problem *P, const double *q) {
    int nx = P->nx, ny = P->ny, k = P->k, x = 0;
    memset(P->qt, 0, sizeof(double) * k);
    memset(P->pty, 0, sizeof(double) * k * ny);
    for (; x + 4 <= nx; x += 4) {
        const double *q0 = q + (size_t)x * k, *q1 = q0 + k, *q2 = q1 + k, *q3 = q2 + k;
        const double *p0 = P->p + (size_t)x * ny, *p1 = p0 + ny, *p2 = p1 + ny, *p3 = p2 + ny;
        double m0 = P->px[x], m1 = P->px[x + 1], m2 = P->px[x + 2], m3 = P->px[x + 3];
        for (int t = 0; t < k; t++) P->qt[t] = P->qt[t] + m0 * q0[t] + m1 * q1[t] + m2 * q2[t] + m3 * q3[t];
        for (int y = 0; y < ny; y++) {
            double w0 = p0[y], w1 = p1[y], w2 = p2[y], w3 = p3[y];
            double *col = P->pty + (size_t)y * k;
            for (int t = 0; t < k; t++) col[t] = col[t] + q0[t] * w0 + q1[t] * w1 + q2[t] * w2 + q3[t] * w3;
        }
    }
    for (; x < nx; x++) {
        const double *qx = q + (size_t)x * k, *px = P->p + (size_t)x * ny;
        double mx = P->px[x];
        for (int t = 0; t < k; t++) P->qt[t] += mx * qx[t];
        for (int y = 0; y < ny; y++) {
            double w = px[y];
            double *col = P->pty + (size_t)y * k;
            for (int t = 0; t < k; t++) col[t] += qx[t] * w;
        }
    }
}

/* log-softmax over t of z (nx, k) into q and its floored logarithm lq. */
ALWAYS_INLINE void log_softmax(Problem *P, const double *z, double *q, double *lq) {
    int nx = P->nx, k = P->k;
    for (int x = 0; x < nx; x++) {
        const double *zx = z + (size_t)x * k;
        double *qx = q + (size_t)x * k, *lx = lq + (size_t)x * k;
        double top = -INFINITY;
        for (int t = 0; t < k; t++) top = zx[t] > top ? zx[t] : top;
        double total = 0;
        for (int t = 0; t < k; t++) qx[t] = exp_nonpositive(zx[t] - top); /* vectorised */
        for (int t = 0; t < k; t++) total += qx[t];                       /* in the order of t */
        double log_total = log(total);
        for (int t = 0; t < k; t++) {
            qx[t] /= total;
            double l = zx[t] - top - log_total;
            lx[t] = l > P->log_floor ? l : P->log_floor; /* NaN stays NaN, as numpy's maximum */
            if (isnan(l)) lx[t] = l;
        }
    }
}

/* One pass of the self-consistent equations from q into (out, lout); known: P's q(t) and p(t, y) are
 * those of q already (the Lagrangian of q was the last to compute them). */
ALWAYS_INLINE void step(Problem *P, const double *q, double *out, double *lout, int known) {
    int nx = P->nx, ny = P->ny, k = P->k;
    if (!known) marginals(P, q);
    double *head = P->head;
    for (int t = 0; t < k; t++) {
        double lqt = log(P->qt[t] > TINY ? P->qt[t] : TINY);
        /* an empty value of T has log q(t) = -inf and stays empty */
        head[t] = P->qt[t] > 0 ? lqt : -INFINITY;
        for (int y = 0; y < ny; y++) {
            double v = P->pty[(size_t)y * k + t];
            P->lqyt[(size_t)y * k + t] = log(v > TINY ? v : TINY) - lqt;
        }
    }
    for (int x = 0; x < nx; x++) {
        const double *pyx = P->pyx + (size_t)x * ny;
        double *zx = P->z + (size_t)x * k;
        for (int t = 0; t < k; t++) zx[t] = 0;
        int y = 0;
        for (; y + 4 <= ny; y += 4) { /* four values of y at a time, added in their order */
            const double *c0 = P->lqyt + (size_t)y * k, *c1 = c0 + k, *c2 = c1 + k, *c3 = c2 + k;
            double w0 = pyx[y], w1 = pyx[y + 1], w2 = pyx[y + 2], w3 = pyx[y + 3];
            for (int t = 0; t < k; t++) zx[t] = zx[t] + w0 * c0[t] + w1 * c1[t] + w2 * c2[t] + w3 * c3[t];
        }
        for (; y < ny; y++) {
            const double *col = P->lqyt + (size_t)y * k;
            double w = pyx[y];
            for (int t = 0; t < k; t++) zx[t] += w * col[t];
        }
        for (int t = 0; t < k; t++) zx[t] = (head[t] + P->beta * zx[t]) / P->alpha;
    }
    log_softmax(P, P->z, out, lout);
}

/* H(T) - alpha H(T|X) - beta I(T; Y) of q, with lq its floored logarithm. */
ALWAYS_INLINE double lagrangian(Problem *P, const double *q, const double *lq) {
    int nx = P->nx, ny = P->ny, k = P->k;
    marginals(P, q);
    double h_t = 0, qlq = 0, ty = 0;
    for (int t = 0; t < k; t++) h_t -= xlogx(P->qt[t]);
    for (int x = 0; x < nx; x++) {
        double s = 0;
        for (int t = 0; t < k; t++) s += q[(size_t)x * k + t] * lq[(size_t)x * k + t];
        qlq += s * P->px[x];
    }
    for (int t = 0; t < k; t++)
        for (int y = 0; y < ny; y++) ty += xlogx(P->pty[(size_t)y * k + t]);
    double i_ty = ty + h_t + P->hy;
    if (!(i_ty >= 0) && !isnan(i_ty)) i_ty = 0;
    return h_t + P->alpha * qlq - P->beta * i_ty;
}

ALWAYS_INLINE double norm(const double *a, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * a[i];
    return sqrt(s);
}

/* floor(log q) of the n entries of q into lq. */
ALWAYS_INLINE void floored_log(const double *q, double *lq, size_t n) {
    for (size_t i = 0; i < n; i++) lq[i] = log(q[i] > TINY ? q[i] : TINY);
}

/* A run of the iteration on one encoder: L after its last cycle (the bar a jump must not exceed), the
 * bound on the extrapolation's length, the steps taken, and the steps after which the drift's history
 * was taken (-1: none yet). */
typedef struct {
    double last, cap;
    long it, mark;
} Run;

/* A run still going after DRIFT_START steps (slowed down near a critical beta, where the iterate drifts
 * along a slow direction for hundreds of steps) tries every DRIFT_EVERY steps to jump along its drift
 * since the last try, log q + c (log q - log q_then), c = 2, 4, ... up to DRIFT_MAX while each jump (and a
 * step from it) lowers L; the best replaces q where it lowers L (iblearn.functional.ib.iterate_np.drift).
 * A try counts as one cycle (3 steps). */
#define DRIFT_START 60
#define DRIFT_EVERY 9
#define DRIFT_MAX 128.0

/* The drift jump from q, lq (nx, k) along lq - hist, 7 nx k doubles of workspace in w; q and lq replaced
 * and *last lowered where a jump is below *last. */
ALWAYS_INLINE void drift_jump(Problem *P, double *q, double *lq, const double *hist, double *w, double *last) {
    size_t n = (size_t)P->nx * P->k;
    double *z = w, *cq = w + n, *cl = w + 2 * n, *jq = w + 3 * n, *jl = w + 4 * n, *bq = w + 5 * n,
           *bl = w + 6 * n, best = *last;
    int found = 0;
    for (double c = 2; c <= DRIFT_MAX; c *= 2) {
        for (size_t i = 0; i < n; i++) z[i] = lq[i] + c * (lq[i] - hist[i]);
        log_softmax(P, z, cq, cl);
        step(P, cq, jq, jl, 0);
        double value = lagrangian(P, jq, jl);
        if (!(value < best)) break;
        best = value;
        found = 1;
        double *t = bq; /* the best so far in (bq, bl) */
        bq = jq;
        jq = t;
        t = bl;
        bl = jl;
        jl = t;
    }
    if (found) {
        memcpy(q, bq, sizeof(double) * n);
        memcpy(lq, bl, sizeof(double) * n);
        *last = best;
    }
}

/* Iterate one encoder q (nx, k) in place, its floored logarithm in the first nx k doubles of w (10 nx k
 * doubles of workspace, the last the drift's history), from the state R, until L falls by less than
 * tol (1 + |L|) in a cycle or R->it reaches until; returns whether L settled. */
ALWAYS_INLINE int solve_one(Problem *P, double *q, double tol, long until, int bounded, double *w, Run *R) {
    size_t n = (size_t)P->nx * P->k;
    double *lq = w, *q1 = w + n, *l1 = w + 2 * n, *q2 = w + 3 * n, *l2 = w + 4 * n;
    double *r = w + 5 * n, *v = w + 6 * n, *jump = w + 7 * n, *lj = w + 8 * n, *hist = w + 9 * n;
    int known = 0; /* after a cycle, its Lagrangian's marginals are q's */
    while (R->it < until) {
        step(P, q, q1, l1, known);
        step(P, q1, q2, l2, 0);
        for (size_t i = 0; i < n; i++) {
            r[i] = l1[i] - lq[i];
            v[i] = l2[i] - 2 * l1[i] + lq[i];
        }
        double nv = norm(v, n), ratio = norm(r, n) / (nv > TINY ? nv : TINY);
        double length = ratio > 1 ? ratio : 1, cap = R->cap;
        if (!(length <= cap)) length = cap;
        double s = -length;
        for (size_t i = 0; i < n; i++) jump[i] = lq[i] - 2 * s * r[i] + s * s * v[i];
        log_softmax(P, jump, v, r); /* the extrapolated start, in v (r is spare now) */
        step(P, v, jump, lj, 0);
        double value = lagrangian(P, jump, lj);
        int worse = !(value <= R->last);
        if (bounded) {
            double grown = length >= cap ? 4 * cap : cap;
            R->cap = worse ? (length / 4 > 1 ? length / 4 : 1) : grown;
        }
        if (worse) {
            memcpy(q, q2, sizeof(double) * n);
            memcpy(lq, l2, sizeof(double) * n);
            value = lagrangian(P, q2, l2);
        } else {
            memcpy(q, jump, sizeof(double) * n);
            memcpy(lq, lj, sizeof(double) * n);
        }
        int going = R->last - value > tol * (1 + fabs(value));
        R->last = value;
        R->it += 3;
        known = 1;
        if (!going) return 1;
        if (R->it >= DRIFT_START && R->mark >= 0 && R->it - R->mark >= DRIFT_EVERY) {
            drift_jump(P, q, lq, hist, q1, &R->last);
            if (bounded) R->cap = INFINITY;
            R->it += 3;
            R->mark = -1;
            known = 0;
        }
        if (R->it >= DRIFT_START && R->mark < 0) {
            memcpy(hist, lq, sizeof(double) * n);
            R->mark = R->it;
        }
    }
    return 0;
}

/* The Problem of p (nx, ny) for encoders of at most nt values of T, its arrays (pyx, px, py, q(t),
 * p(t, y), log q(y|t), the logits, log q(t)) in the first problem_size doubles of mem; returns the rest. */
#define problem_size(nx, ny, nt) \
    (2 * (size_t)(nx) * (ny) + (nx) + 3 * (size_t)(nt) * (ny) + 2 * (size_t)(nt) + (size_t)(nx) * (nt))
static double *problem_init(Problem *P, double *mem, const double *p, int nx, int ny, int nt, double alpha) {
    *P = (Problem){.p = p, .nx = nx, .ny = ny, .k = nt, .alpha = alpha, .log_floor = log(TINY)};
    double *pyx = mem, *px = mem + (size_t)nx * ny, *py = px + nx;
    P->qt = py + ny;
    P->pty = P->qt + nt;
    P->lqyt = P->pty + (size_t)nt * ny;
    P->z = P->lqyt + (size_t)nt * ny;
    P->head = P->z + (size_t)nx * nt;
    memset(py, 0, sizeof(double) * ny);
    for (int x = 0; x < nx; x++) {
        double s = 0;
        for (int y = 0; y < ny; y++) s += p[(size_t)x * ny + y];
        px[x] = s;
        for (int y = 0; y < ny; y++) {
            pyx[(size_t)x * ny + y] = p[(size_t)x * ny + y] / s;
            py[y] += p[(size_t)x * ny + y];
        }
    }
    P->hy = 0;
    for (int y = 0; y < ny; y++) P->hy -= xlogx(py[y]);
    P->pyx = pyx;
    P->px = px;
    return P->head + nt;
}

/* A function's three copies around its body (an ALWAYS_INLINE name##_body), and name, which calls the
 * one isa picks (AVX-512's with 512-bit vectors, which GCC does not prefer by default). Without GCC's
 * target attribute on x86-64, one copy, compiled for the build's target. */
#ifdef KERNEL_X86
#define VECTOR_COPIES(name, params, args)                                                               \
    __attribute__((target("avx512f,prefer-vector-width=512"))) static int name##_avx512 params {         \
        return name##_body args;                                                                         \
    }                                                                                                    \
    __attribute__((target("avx2"))) static int name##_avx2 params { return name##_body args; }           \
    static int name##_base params { return name##_body args; }                                           \
    static int name params {                                                                             \
        return (isa == ISA_AVX512 ? name##_avx512 : isa == ISA_AVX2 ? name##_avx2 : name##_base) args;  \
    }
#else
#define VECTOR_COPIES(name, params, args) \
    static int name params { return name##_body args; }
#endif

/* Iterate the batch qall (B, nx, nt) at betas (B,) in place, the workspace in mem. */
ALWAYS_INLINE int run_copy_body(double *mem, const double *p, double *qall, const double *betas, Py_ssize_t batch,
                                const int *sizes, double alpha, double tol, long max_iter, int bounded) {
    int nx = sizes[0], ny = sizes[1], nt = sizes[2];
    Problem P;
    double *work = problem_init(&P, mem, p, nx, ny, nt, alpha);
    for (Py_ssize_t b = 0; b < batch; b++) {
        P.beta = betas[b];
        double *q = qall + (size_t)b * nx * nt;
        Run R = {INFINITY, INFINITY, 0, -1};
        floored_log(q, work, (size_t)nx * nt);
        solve_one(&P, q, tol, max_iter, bounded, work, &R);
    }
    return 0;
}
VECTOR_COPIES(run_copy,
              (double *mem, const double *p, double *qall, const double *betas, Py_ssize_t batch,
               const int *sizes, double alpha, double tol, long max_iter, int bounded),
              (mem, p, qall, betas, batch, sizes, alpha, tol, max_iter, bounded))

/* Iterate the batch qall (B, nx, nt) at betas (B,) in place; -1 where out of memory. */
static int run(const double *p, double *qall, const double *betas, Py_ssize_t batch, int nx, int ny, int nt,
               double alpha, double tol, long max_iter, int bounded) {
    double *mem = malloc(sizeof(double) * (problem_size(nx, ny, nt) + 10 * (size_t)nx * nt)); /* solve_one's */
    if (mem == NULL) return -1;
    const int sizes[3] = {nx, ny, nt};
    run_copy(mem, p, qall, betas, batch, sizes, alpha, tol, max_iter, bounded);
    free(mem);
    return 0;
}

/* None, or the error of a call whose buffers did not match (not ok) or that ran out of memory. */
static PyObject *answer(int ok, int status, const char *name) {
    if (!ok) return PyErr_Format(PyExc_ValueError, "%s: buffers do not match n_x, n_y, n_t", name);
    if (status < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *iterate(PyObject *self, PyObject *args) {
    Py_buffer pb, qb, bb;
    int nx, ny, nt, bounded;
    long max_iter;
    double alpha, tol;
    if (!PyArg_ParseTuple(args, "y*w*y*iiidd" "lp", &pb, &qb, &bb, &nx, &ny, &nt, &alpha, &tol, &max_iter,
                          &bounded))
        return NULL;
    Py_ssize_t batch = bb.len / (Py_ssize_t)sizeof(double);
    int ok = nx > 0 && ny > 0 && nt > 0 && alpha > 0 && pb.len == (Py_ssize_t)sizeof(double) * nx * ny &&
             qb.len == (Py_ssize_t)sizeof(double) * batch * nx * nt;
    int status = -1;
    if (ok) {
        Py_BEGIN_ALLOW_THREADS
        status = run(pb.buf, qb.buf, bb.buf, batch, nx, ny, nt, alpha, tol, max_iter, bounded);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&pb);
    PyBuffer_Release(&qb);
    PyBuffer_Release(&bb);
    return answer(ok, status, "iterate");
}

/* The values of T of q (nx, k) with mass above empty kept, in order, each merged into the first value
 * kept before it whose q(y|t) is within twin of its own (the largest difference over y), each row
 * renormalised (q is rewritten as (nx, kept) where kept < k, else left as it is); returns how many were
 * kept, or -1 out of memory. */
ALWAYS_INLINE int compact(const double *p, double *q, int nx, int ny, int k, double empty, double twin) {
    double *mass = malloc(sizeof(double) * (2 + (size_t)ny) * k);
    int *label = malloc(sizeof(int) * 2 * (size_t)k);
    if (mass == NULL || label == NULL) {
        free(mass);
        free(label);
        return -1;
    }
    double *moved = mass + k, *cond = mass + 2 * k;
    int *root = label + k, kept = 0;
    memset(mass, 0, sizeof(double) * (2 + (size_t)ny) * k);
    for (int x = 0; x < nx; x++) {
        const double *px = p + (size_t)x * ny, *qx = q + (size_t)x * k;
        double mx = 0;
        for (int y = 0; y < ny; y++) mx += px[y];
        for (int t = 0; t < k; t++) {
            mass[t] += mx * qx[t];
            for (int y = 0; y < ny; y++) cond[(size_t)t * ny + y] += qx[t] * px[y];
        }
    }
    for (int t = 0; t < k; t++) {
        label[t] = -1;
        root[t] = 0;
        if (!(mass[t] > empty)) continue;
        double *own = cond + (size_t)t * ny;
        for (int y = 0; y < ny; y++) own[y] /= mass[t];
        for (int s = 0; s < t && label[t] < 0; s++) {
            if (!root[s]) continue;
            double gap = 0;
            for (int y = 0; y < ny; y++) gap = fmax(gap, fabs(own[y] - cond[(size_t)s * ny + y]));
            if (gap < twin) label[t] = label[s];
        }
        if (label[t] < 0) {
            label[t] = kept++;
            root[t] = 1;
        }
    }
    for (int x = 0; x < nx && kept < k; x++) {
        const double *row = q + (size_t)x * k;
        double total = 0;
        for (int j = 0; j < kept; j++) moved[j] = 0;
        for (int t = 0; t < k; t++)
            if (label[t] >= 0) moved[label[t]] += row[t];
        for (int j = 0; j < kept; j++) total += moved[j];
        double *dst = q + (size_t)x * kept; /* at or before row: the copy runs forward */
        for (int j = 0; j < kept; j++) dst[j] = moved[j] / total;
    }
    free(mass);
    free(label);
    return kept;
}

/* One beta of the annealing path: q (nx, P->k) iterated from its own Lagrangian (no jump may rise above
 * the start), its twin and empty values of T merged (compact; limits: empty, twin) every `every` steps
 * and the iteration started afresh from the merged encoder where any were, then once more at the end
 * (P->k: the values kept); *settled: the steps after which the answer settled at tol with nothing
 * merged after (0 where it did not); -1 where out of memory. */
ALWAYS_INLINE int path_beta(Problem *P, double *q, double tol, long max_iter, const double *limits, long every,
                     double *w, double *settled) {
    Run R = {0, INFINITY, 0, -1};
    floored_log(q, w, (size_t)P->nx * P->k);
    R.last = lagrangian(P, q, w);
    for (;;) {
        long until = R.it + every < max_iter ? R.it + every : max_iter;
        int done = solve_one(P, q, tol, until, 1, w, &R);
        int kept = compact(P->p, q, P->nx, P->ny, P->k, limits[0], limits[1]);
        if (kept < 0) return -1;
        int merged = kept < P->k;
        P->k = kept;
        *settled = done && !merged ? (double)R.it : 0.0;
        if (done || R.it >= max_iter) return 0;
        if (merged) { /* a new start: its own bar, an unbounded extrapolation */
            floored_log(q, w, (size_t)P->nx * kept);
            R.last = lagrangian(P, q, w);
            R.cap = INFINITY;
            R.mark = -1;
        }
    }
}

/* The path of anneal below, the workspace in mem; -1 where out of memory. */
ALWAYS_INLINE int path_copy_body(double *mem, const double *p, const double *q0, double *out, double *settled,
                            const double *betas, Py_ssize_t batch, const int *sizes, double alpha, double tol,
                            long max_iter, const double *limits, long every) {
    int nx = sizes[0], ny = sizes[1], nt = sizes[2], status = 0;
    size_t n = (size_t)nx * nt;
    Problem P;
    double *work = problem_init(&P, mem, p, nx, ny, nt, alpha), *q = work + 10 * n;
    memcpy(q, q0, sizeof(double) * n);
    for (Py_ssize_t b = batch - 1; b >= 0 && status == 0; b--) {
        P.beta = betas[b];
        status = path_beta(&P, q, tol, max_iter, limits, every, work, settled + b);
        double *dst = out + (size_t)b * n;
        for (int x = 0; x < nx && status == 0; x++)
            memcpy(dst + (size_t)x * nt, q + (size_t)x * P.k, sizeof(double) * P.k);
    }
    return status;
}
VECTOR_COPIES(path_copy,
              (double *mem, const double *p, const double *q0, double *out, double *settled,
               const double *betas, Py_ssize_t batch, const int *sizes, double alpha, double tol,
               long max_iter, const double *limits, long every),
              (mem, p, q0, out, settled, betas, batch, sizes, alpha, tol, max_iter, limits, every))

/* The annealing path of iblearn.functional.ib.anneal._path_numpy: from q0 (nx, nt) at the last beta
 * down to the first, each beta's encoder iterated from the one above (path_beta), written into out
 * (B, nx, nt), zero-padded, and the steps after which each settled into settled (B,). */
static PyObject *anneal(PyObject *self, PyObject *args) {
    Py_buffer pb, q0b, ob, sb, bb;
    int nx, ny, nt;
    long max_iter, every;
    double alpha, tol, limits[2];
    if (!PyArg_ParseTuple(args, "y*y*w*w*y*(iii)ddl(ddl)", &pb, &q0b, &ob, &sb, &bb, &nx, &ny, &nt, &alpha,
                          &tol, &max_iter, &limits[0], &limits[1], &every))
        return NULL;
    Py_ssize_t batch = bb.len / (Py_ssize_t)sizeof(double);
    size_t n = (size_t)nx * nt;
    int ok = nx > 0 && ny > 0 && nt > 0 && alpha > 0 && every > 0 &&
             pb.len == (Py_ssize_t)sizeof(double) * nx * ny && q0b.len == (Py_ssize_t)(sizeof(double) * n) &&
             ob.len == (Py_ssize_t)(sizeof(double) * batch * n) && sb.len == bb.len;
    double *mem = ok ? malloc(sizeof(double) * (problem_size(nx, ny, nt) + 11 * n)) : NULL;
    int status = mem == NULL ? -1 : 0;
    if (mem != NULL) {
        const int sizes[3] = {nx, ny, nt};
        Py_BEGIN_ALLOW_THREADS
        status = path_copy(mem, pb.buf, q0b.buf, ob.buf, sb.buf, bb.buf, batch, sizes, alpha, tol, max_iter,
                           limits, every);
        Py_END_ALLOW_THREADS
        free(mem);
    }
    PyBuffer_Release(&pb);
    PyBuffer_Release(&q0b);
    PyBuffer_Release(&ob);
    PyBuffer_Release(&sb);
    PyBuffer_Release(&bb);
    return answer(ok, status, "anneal");
}

static PyMethodDef methods[] = {
    {"iterate", iterate, METH_VARARGS, "The IB's soft self-consistent iteration with SQUAREM, in place."},
    {"anneal", anneal, METH_VARARGS, "The IB's annealing path down a sorted grid of betas."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_iterate", NULL, -1, methods};

/* ISA: the copy that runs, "avx512", "avx2" or "portable": the widest the CPU runs (AVX-512F, AVX2),
 * capped at the one IBLEARN_SIMD names ("avx2" or "portable"; another value caps nothing here, the kNN
 * kernel's import refuses it). */
PyMODINIT_FUNC PyInit__iterate(void) {
    const char *asked = getenv("IBLEARN_SIMD");
    const int named = asked ? isa_named(asked) : -1;
    isa = named < 0 ? widest_isa() : named;
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddStringConstant(m, "ISA", ISA_NAMES[isa]) < 0) Py_CLEAR(m);
    return m;
}
