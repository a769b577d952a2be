/* The body of listed_many_kernel (_maxnorm_listed.h) for one instruction set: ISA its name, ISA_TARGET
 * its target attribute, W its vector's width in doubles. LANE_D is W doubles and LANE_I their
 * comparisons' lanes (all ones where true), GCC's generic vectors, which each copy compiles to its own
 * registers. */
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
ISA_TARGET ALWAYS_INLINE int LANE_FN(any)(LANE_I where) {
    int64_t any = 0;
    for (int l = 0; l < W; l++) any |= where[l];
    return any != 0;
}

/* One group: xt (n, W) the group's values point by point, `lanes` of them in use (the rest
 * repeat the last); xs the same candidates row by row (for the rows measured against all points);
 * outputs (lanes, n) each. */
ISA_TARGET static Py_ssize_t LANE_FN(group)(const double *xt, const double *xs, Py_ssize_t lanes, const double *pts,
                                           Py_ssize_t n, Py_ssize_t dim, Py_ssize_t ydim, Py_ssize_t k,
                                           const int64_t *nbr_yz, const double *d_yz, const double *bound_yz,
                                           Py_ssize_t my, const int64_t *nbr_z, const double *d_z,
                                           const double *bound_z, Py_ssize_t mz, double *eps, int64_t *nxz,
                                           int64_t *nyz, int64_t *nz) {
    Py_ssize_t missed = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        LANE_D best[LISTED_KMAX];
        for (Py_ssize_t t = 0; t < k; t++) best[t] = (LANE_D){0} + INFINITY;
        const LANE_D xi = LANE_FN(load)(xt + i * W);
        const int64_t *nb = nbr_yz + i * my;
        const double *dd = d_yz + i * my;
        Py_ssize_t scanned = 0;
        for (; scanned < my; scanned++) {
            const double dj = dd[scanned];
            if (!LANE_FN(any)(dj < best[k - 1])) break;
            const LANE_D a = LANE_FN(abs)(xi - LANE_FN(load)(xt + nb[scanned] * W));
            LANE_D v = LANE_FN(pick)(a > dj, a, (LANE_D){0} + dj);
            for (Py_ssize_t t = 0; t < k; t++) {
                const LANE_I below = best[t] < v;
                const LANE_D b = best[t];
                best[t] = LANE_FN(pick)(below, b, v);
                v = LANE_FN(pick)(below, v, b);
            }
        }
        const LANE_D r = best[k - 1];
        /* the lists ascend: every listed distance below a radius comes before the scan's stop */
        LANE_I within = {0}, cz = {0}, cxz = {0};
        for (Py_ssize_t j = 0; j < scanned; j++) within -= dd[j] < r;
        double reach = r[0];
        for (int l = 1; l < W; l++) reach = r[l] > reach ? r[l] : reach;
        const int64_t *nbz = nbr_z + i * mz;
        const double *dz = d_z + i * mz;
        for (Py_ssize_t j = 0; j < mz && dz[j] < reach; j++) {
            const double dj = dz[j];
            const LANE_D a = LANE_FN(abs)(xi - LANE_FN(load)(xt + nbz[j] * W));
            cz -= dj < r;
            cxz -= LANE_FN(pick)(a > dj, a, (LANE_D){0} + dj) < r;
        }
        for (int l = 0; l < lanes; l++) {
            const Py_ssize_t o = l * n + i;
            if (!(r[l] <= bound_yz[i] && r[l] <= bound_z[i])) {
                listed_row_all(xs + l * n, pts, n, dim, ydim, k, i, eps + l * n, nxz + l * n, nyz + l * n,
                               nz + l * n);
                missed++;
                continue;
            }
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
        missed += LANE_FN(group)(xt, xs + o, lanes, pts, n, dim, ydim, k, nbr_yz, d_yz, bound_yz, my, nbr_z, d_z,
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
