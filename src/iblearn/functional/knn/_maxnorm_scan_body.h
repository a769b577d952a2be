/* The scans of _maxnorm_scan.h for one instruction set, included once per set with ISA (a name),
 * ISA_TARGET (its function attribute), V (a vector of W doubles), G (vectors a group of the counts),
 * PROBE and the V_ operations defined; they are undefined at the end. */

#define SCAN_CAT_(a, b) a##_##b
#define SCAN_CAT(a, b) SCAN_CAT_(a, b)
#define SCAN_FN(name) SCAN_CAT(name, ISA)

/* The k-th smallest max-norm distance of the points at ranks r0 .. r0 + W - 1, into eps (all W
 * written; those at n and beyond hold nothing). xs, ys: see _maxnorm_scan.h. */
ISA_TARGET ALWAYS_INLINE void SCAN_FN(eps_block)(const double *xs, const double *ys, Py_ssize_t n, Py_ssize_t r0,
                                                 const Py_ssize_t k, double *eps) {
    V m[SCAN_KMAX];
    const V x0 = V_LOAD(xs + r0), y0 = V_LOAD(ys + r0);
    double start[W];
    /* a lane past the last point starts below every distance: it never asks for more offsets */
    for (int l = 0; l < W; l++) start[l] = r0 + l < n ? INFINITY : -INFINITY;
    for (Py_ssize_t j = 0; j < k; j++) m[j] = V_LOAD(start);
    for (Py_ssize_t s = 1; s < n; s++) {
        const double *x = xs + r0, *y = ys + r0;
        const V dxr = V_SUB(V_LOAD(x + s), x0), dxl = V_SUB(x0, V_LOAD(x - s));
        const V dyr = V_ABS(V_SUB(V_LOAD(y + s), y0)), dyl = V_ABS(V_SUB(V_LOAD(y - s), y0));
        V dr = V_MAX(dxr, dyr), dl = V_MAX(dxl, dyl);
        for (Py_ssize_t j = 0; j < k; j++) { /* insert dr, then dl, into the ascending m[0..k) */
            const V a = m[j];
            m[j] = V_MIN(a, dr);
            dr = V_MAX(a, dr);
        }
        for (Py_ssize_t j = 0; j < k; j++) {
            const V a = m[j];
            m[j] = V_MIN(a, dl);
            dl = V_MAX(a, dl);
        }
        if (V_BEYOND(dxr, dxl, m[k - 1])) break;
    }
    V_STORE(eps + r0, m[k - 1]);
}

#define SCAN_BLOCKS(K)                                                                                        \
    for (Py_ssize_t r0 = 0; r0 < n; r0 += W) SCAN_FN(eps_block)(xs, ys, n, r0, K, eps)

/* With k a constant, the lists stay in registers. */
ISA_TARGET static void SCAN_FN(scan_eps)(const double *xs, const double *ys, Py_ssize_t n, Py_ssize_t k,
                                         double *eps) {
    switch (k) {
    case 1: SCAN_BLOCKS(1); break;
    case 2: SCAN_BLOCKS(2); break;
    case 3: SCAN_BLOCKS(3); break;
    case 4: SCAN_BLOCKS(4); break;
    default: SCAN_BLOCKS(k); break;
    }
}
#undef SCAN_BLOCKS

/* Adds to dst (COUNTS) the number of the G W neighbours from `at` on within e of c (at, at + 1, ...
 * for sign > 0; at + W - 1, at + W - 2, ..., at - (G - 1) W for sign < 0), leaving the last vector's
 * bits in `last`. */
#define SCAN_GROUP(dst, at, sign)                                                                         \
    do {                                                                                                  \
        for (int g = 0; g < G; g++) {                                                                     \
            const V d = sign > 0 ? V_SUB(V_LOAD(at + g * W), c) : V_SUB(c, V_LOAD(at - g * W));           \
            const LANES lt = V_LT(d, e);                                                                  \
            dst = COUNTS_ADD(dst, lt);                                                                    \
            if (g == G - 1) last = V_BITS(lt);                                                            \
        }                                                                                                 \
    } while (0)

/* #{p != r : |v[p] - v[r]| < eps[r]} for every rank r (v padded). The test holds for a run of offsets
 * from 1 on each side and fails beyond, so a side is read G W neighbours at a time, without a branch
 * on each, until a group's last W are not all within eps; the count is the number that were. With
 * PROBE, a side whose neighbour at offset PROBE passes has its first PROBE counted unread (the run
 * holds them all) and is read from offset PROBE + 1 on. */
ISA_TARGET static void SCAN_FN(scan_counts)(const double *v, const double *eps, Py_ssize_t n, int64_t *out) {
    for (Py_ssize_t r = 0; r < n; r++) {
        const double vr = v[r], er = eps[r];
        const V c = V_SET1(vr), e = V_SET1(er);
        Py_ssize_t a = 0, b = 0;
#if PROBE
        a = PROBE & -(Py_ssize_t)(v[r + PROBE] - vr < er);
        b = PROBE & -(Py_ssize_t)(vr - v[r - PROBE] < er);
#endif
        const double *right = v + r + 1 + a, *left = v + r - b - W;
        COUNTS m = COUNTS_ZERO;
        unsigned last;
        do {
            SCAN_GROUP(m, right, 1);
            right += G * W;
        } while (last == V_FULL);
        do {
            SCAN_GROUP(m, left, -1);
            left -= G * W;
        } while (last == V_FULL);
        out[r] = a + b + COUNTS_SUM(m);
    }
}
#undef SCAN_GROUP

#undef SCAN_FN
#undef SCAN_CAT
#undef SCAN_CAT_
#undef ISA
#undef ISA_TARGET
#undef W
#undef G
#undef V
#undef V_LOAD
#undef V_STORE
#undef V_SET1
#undef V_SUB
#undef V_MIN
#undef V_MAX
#undef V_ABS
#undef V_BEYOND
#undef V_GT64
#undef V_GT32
#undef PROBE
#undef V_LT
#undef V_BITS
#undef V_FULL
#undef COUNTS
#undef COUNTS_ZERO
#undef COUNTS_ADD
#undef COUNTS_SUM
#undef LANES
