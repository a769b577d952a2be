/* The body of listed_many_kernel (_maxnorm_listed.h) for one instruction set: ISA its name, ISA_TARGET
 * its target attribute, W its vector's width in doubles. LANE_D is W doubles and LANE_I their
 * comparisons' lanes (all ones where true), GCC's generic vectors, which each copy compiles to its own
 * registers; LANE_ANY_LT(a, b), where defined, says whether a < b in some lane. */
#define LANE_CAT2(a, b) a##_##b
#define LANE_CAT(a, b) LANE_CAT2(a, b)
#define LANE_FN(name) LANE_CAT(lane_##name, ISA)
#define LANE_D LANE_CAT(LaneD, ISA)
#define LANE_I LANE_CAT(LaneI, ISA)
typedef double LANE_D __attribute__((vector_size(8 * W)));
typedef int64_t LANE_I __attribute__((vector_size(8 * W)));

ISA_TARGET ALWAYS_INLINE LANE_D LANE_FN(pick)(LANE_I where, LANE_D a, LANE_D b) { /* where ? a : b */
    return (LANE_D)((where & (LANE_I)a) | (~where & (LANE_I)b));
}
ISA_TARGET ALWAYS_INLINE LANE_D LANE_FN(abs)(LANE_D a) {
    const LANE_I sign = (LANE_I){0} + INT64_MIN; /* the sign bit */
    return (LANE_D)(~sign & (LANE_I)a);
}
ISA_TARGET ALWAYS_INLINE LANE_D LANE_FN(load)(const double *p) {
    LANE_D v;
    memcpy(&v, p, sizeof v);
    return v;
}
/* The lane-wise minimum and maximum, a < b ? a : b and a > b ? a : b: the set's own instruction (LANE_MIN
 * and LANE_MAX, where defined), which has these semantics to the bit, else a select. */
ISA_TARGET ALWAYS_INLINE LANE_D LANE_FN(min)(LANE_D a, LANE_D b) {
#ifdef LANE_MIN
    return (LANE_D)LANE_MIN(a, b);
#else
    return LANE_FN(pick)(a < b, a, b);
#endif
}
ISA_TARGET ALWAYS_INLINE LANE_D LANE_FN(max)(LANE_D a, LANE_D b) {
#ifdef LANE_MAX
    return (LANE_D)LANE_MAX(a, b);
#else
    return LANE_FN(pick)(a > b, a, b);
#endif
}
/* Whether a < b in some lane: the set's own comparison to a bit mask (LANE_ANY_LT, where it has one). */
ISA_TARGET ALWAYS_INLINE int LANE_FN(any_lt)(LANE_D a, LANE_D b) {
#ifdef LANE_ANY_LT
    return LANE_ANY_LT(a, b);
#else
    const LANE_I where = a < b;
    int64_t any = 0;
    for (int l = 0; l < W; l++) any |= where[l];
    return any != 0;
#endif
}

/* Point i of every lane measured against all points (listed_row_all's numbers, lane-wise): the (y, z)
 * and z distances, once for all lanes, and each lane's own x. Its radius in r, its counts in cxz, cyz,
 * cz. */
ISA_TARGET ALWAYS_INLINE void LANE_FN(all)(const double *xt, const double *pts, Py_ssize_t n, Py_ssize_t dim,
                                          Py_ssize_t ydim, Py_ssize_t k, Py_ssize_t i, LANE_D *r, LANE_I *cxz,
                                          LANE_I *cyz, LANE_I *cz) {
    LANE_D best[LISTED_KMAX];
    for (Py_ssize_t t = 0; t < k; t++) best[t] = (LANE_D){0} + INFINITY;
    const LANE_D xi = LANE_FN(load)(xt + i * W);
    const double *pi = pts + i * dim;
    for (Py_ssize_t j = 0; j < n; j++) {
        if (j == i) continue;
        double d = 0.0;
        for (Py_ssize_t c = 0; c < dim; c++) {
            const double a = fabs(pi[c] - pts[j * dim + c]);
            d = a > d ? a : d;
        }
        const LANE_D a = LANE_FN(abs)(xi - LANE_FN(load)(xt + j * W));
        LANE_D v = LANE_FN(max)(a, (LANE_D){0} + d);
        if (!LANE_FN(any_lt)(v, best[k - 1])) continue;
        for (Py_ssize_t t = 0; t < k; t++) {
            const LANE_D b = best[t];
            best[t] = LANE_FN(min)(b, v);
            v = LANE_FN(max)(v, b);
        }
    }
    const LANE_D radius = best[k - 1];
    LANE_I nxz = {0}, nyz = {0}, nz = {0};
    for (Py_ssize_t j = 0; j < n; j++) {
        if (j == i) continue;
        double dy = 0.0, dz = 0.0;
        for (Py_ssize_t c = 0; c < ydim; c++) {
            const double a = fabs(pi[c] - pts[j * dim + c]);
            dy = a > dy ? a : dy;
        }
        for (Py_ssize_t c = ydim; c < dim; c++) {
            const double a = fabs(pi[c] - pts[j * dim + c]);
            dz = a > dz ? a : dz;
        }
        const LANE_D a = LANE_FN(abs)(xi - LANE_FN(load)(xt + j * W));
        nz -= dz < radius;
        nyz -= (dy > dz ? dy : dz) < radius;
        nxz -= LANE_FN(max)(a, (LANE_D){0} + dz) < radius;
    }
    *r = radius, *cxz = nxz, *cyz = nyz, *cz = nz;
}

/* One group: xt (n, W) the group's values point by point, `lanes` of them in use (the rest repeat the
 * last); outputs (lanes, n) each, rows n apart. The number of points measured against all points.
 * Inlined where it is called, so that a call with a constant k keeps the k distances in registers. */
ISA_TARGET ALWAYS_INLINE Py_ssize_t LANE_FN(group)(const double *xt, Py_ssize_t lanes, const double *pts,
                                           Py_ssize_t n, Py_ssize_t dim, Py_ssize_t ydim, Py_ssize_t k,
                                           const int64_t *nbr_yz, const double *d_yz, const double *bound_yz,
                                           Py_ssize_t my, const int64_t *nbr_z, const double *d_z,
                                           const double *bound_z, Py_ssize_t mz, double *eps, int64_t *nxz,
                                           int64_t *nyz, int64_t *nz) {
    Py_ssize_t missed = 0;
    /* The entries of each list read at the last point, a guide to the next point's (the lists are
     * rows far apart, each read from its start, so that a point waits on memory unless fetched ahead). */
    Py_ssize_t y_run = 64, z_run = 64;
    for (Py_ssize_t i = 0; i < n; i++) {
        LANE_D best[LISTED_KMAX];
        for (Py_ssize_t t = 0; t < k; t++) best[t] = (LANE_D){0} + INFINITY;
        const LANE_D xi = LANE_FN(load)(xt + i * W);
        const int64_t *nb = nbr_yz + i * my;
        const double *dd = d_yz + i * my;
        if (i + 1 < n) { /* the next point's lists as far as this one's were read, fetched meanwhile */
            for (Py_ssize_t j = 0; j < y_run && j < my; j += 8) {
                __builtin_prefetch(d_yz + (i + 1) * my + j);
                __builtin_prefetch(nbr_yz + (i + 1) * my + j);
            }
            for (Py_ssize_t j = 0; j < z_run && j < mz; j += 8) {
                __builtin_prefetch(d_z + (i + 1) * mz + j);
                __builtin_prefetch(nbr_z + (i + 1) * mz + j);
            }
        }
        Py_ssize_t scanned = 0;
        for (; scanned < my; scanned++) {
            const double dj = dd[scanned];
            if (!LANE_FN(any_lt)((LANE_D){0} + dj, best[k - 1])) break;
            const LANE_D a = LANE_FN(abs)(xi - LANE_FN(load)(xt + nb[scanned] * W));
            LANE_D v = LANE_FN(max)(a, (LANE_D){0} + dj);
            for (Py_ssize_t t = 0; t < k; t++) {
                const LANE_D b = best[t];
                best[t] = LANE_FN(min)(b, v);
                v = LANE_FN(max)(v, b);
            }
        }
        LANE_D r = best[k - 1];
        LANE_I within = {0}, cz = {0}, cxz = {0};
        int far = 0;
        for (int l = 0; l < lanes; l++) far |= !(r[l] <= bound_yz[i] && r[l] <= bound_z[i]);
        if (far) { /* a radius past a list's bound: every lane measured against all points */
            LANE_FN(all)(xt, pts, n, dim, ydim, k, i, &r, &cxz, &within, &cz);
            missed++;
        } else {
            /* the lists ascend: every listed distance below a radius comes before the scan's stop */
            for (Py_ssize_t j = 0; j < scanned; j++) within -= dd[j] < r;
            double reach = r[0];
            for (int l = 1; l < W; l++) reach = r[l] > reach ? r[l] : reach;
            const int64_t *nbz = nbr_z + i * mz;
            const double *dz = d_z + i * mz;
            Py_ssize_t j = 0;
            for (; j < mz && dz[j] < reach; j++) {
                const double dj = dz[j];
                const LANE_D a = LANE_FN(abs)(xi - LANE_FN(load)(xt + nbz[j] * W));
                const LANE_I near = dj < r; /* max(a, dj) < r: both below it */
                cz -= near;
                cxz -= near & (a < r);
            }
            z_run = j + 8;
        }
        y_run = scanned + 8;
        for (int l = 0; l < lanes; l++) {
            const Py_ssize_t o = l * n + i;
            eps[o] = r[l];
            nyz[o] = within[l];
            nz[o] = cz[l];
            nxz[o] = cxz[l];
        }
    }
    return missed;
}

/* listed_many_kernel's work in this set's copy. */
ISA_TARGET static Py_ssize_t LANE_FN(many)(const double *xs, Py_ssize_t count, const double *pts, Py_ssize_t n,
                                          Py_ssize_t dim, Py_ssize_t ydim, Py_ssize_t k, const int64_t *nbr_yz,
                                          const double *d_yz, const double *bound_yz, Py_ssize_t my,
                                          const int64_t *nbr_z, const double *d_z, const double *bound_z,
                                          Py_ssize_t mz, double *eps, int64_t *nxz, int64_t *nyz, int64_t *nz) {
    double *xt = malloc((size_t)n * W * sizeof(double));
    if (!xt) return -1;
    Py_ssize_t missed = 0;
    for (Py_ssize_t first = 0; first < count; first += W) {
        const Py_ssize_t lanes = count - first < W ? count - first : W;
        /* lanes past the end repeat the last candidate: values to compute with, never written */
        for (Py_ssize_t i = 0; i < n; i++)
            for (Py_ssize_t l = 0; l < W; l++) xt[i * W + l] = xs[(first + (l < lanes ? l : lanes - 1)) * n + i];
        const Py_ssize_t o = first * n;
        if (k == 4) /* the estimators' default, its chain of k compare-exchanges unrolled */
            missed += LANE_FN(group)(xt, lanes, pts, n, dim, ydim, 4, nbr_yz, d_yz, bound_yz, my, nbr_z, d_z,
                                     bound_z, mz, eps + o, nxz + o, nyz + o, nz + o);
        else
            missed += LANE_FN(group)(xt, lanes, pts, n, dim, ydim, k, nbr_yz, d_yz, bound_yz, my, nbr_z, d_z,
                                     bound_z, mz, eps + o, nxz + o, nyz + o, nz + o);
    }
    free(xt);
    return missed;
}

#undef LANE_D
#undef LANE_I
#undef LANE_FN
#undef ISA
#undef ISA_TARGET
#undef W
#undef LANE_ANY_LT
#undef LANE_MIN
#undef LANE_MAX
