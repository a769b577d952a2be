/* KSG between two one-dimensional variables, for many pairs (iblearn.functional.knn.bivariate), included by
 * _maxnorm.c after its helpers (precedes, insert, no_neighbours).
 *
 *   pairs(sorted, ranks, n, pairs, k, variant, cell, out_nx, out_ny): `sorted` holds m variables of n
 *       points each sorted ascending (m * n doubles), `ranks` the position of each point in its sorted
 *       variable (m * n int64), `pairs` P (a, b) indices into the m variables. For pair p, out_nx and
 *       out_ny (P * n int64, row p) get KSG's n_x and n_y of every point, in the points' own order: the
 *       numbers ksg_counts_tree gives on the same prepared samples. Returns the first pair whose k-th
 *       neighbour distances overflowed (fewer than k neighbours at a finite distance), or -1.
 *
 * Why a grid: in two dimensions the k-th neighbour in the max-norm lies in a small box, and cells of
 * equal rank width in each variable (about `cell` ranks a side) hold a few points each whatever the
 * marginals, so a search reads a few cells. The cells are laid out cell column by cell column, so that
 * widening the search box by a column of cells reads one contiguous run. The box grows on the side whose
 * next cells lie nearest (their gap is a lower bound of the distance of any point in them) until every
 * side's gap exceeds the current k-th distance. Gaps are differences of the same doubles as the
 * distances, and rounding is monotone, so pruning by them is exact. Ties among neighbours go to the
 * smaller index (precedes), as on the other searches: variant 2 reads the neighbours' marginal distances.
 *
 * The marginal counts are the runs of the sorted variable within the radius, found by bisection inside
 * the final box's ranks (which hold every point within the k-th distance in that variable). */

typedef struct {
    const double *xs, *ys;   /* the two variables, sorted */
    const int64_t *rx, *ry;  /* each point's rank in xs, ys */
    Py_ssize_t n, c, g;      /* points, ranks per cell side, cells per side */
    Py_ssize_t *start;       /* g * g + 1: the first position of each cell, column by column */
    Py_ssize_t *fill;        /* g * g scratch */
    Py_ssize_t *cellof;      /* n scratch */
    double *px, *py;         /* the points in cell order */
    int64_t *pid;            /* and their indices */
} Grid;

static void grid_fill(Grid *G) {
    const Py_ssize_t n = G->n, c = G->c, g = G->g, cells = g * g;
    for (Py_ssize_t t = 0; t <= cells; t++) G->start[t] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t cell = (G->rx[i] / c) * g + G->ry[i] / c;
        G->cellof[i] = cell;
        G->start[cell + 1]++;
    }
    for (Py_ssize_t t = 0; t < cells; t++) {
        G->start[t + 1] += G->start[t];
        G->fill[t] = G->start[t];
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t p = G->fill[G->cellof[i]]++;
        G->px[p] = G->xs[G->rx[i]];
        G->py[p] = G->ys[G->ry[i]];
        G->pid[p] = i;
    }
}

/* Offer the points at cell-order positions [s, e) to point i at (xi, yi). */
ALWAYS_INLINE void grid_offer(const Grid *G, Py_ssize_t s, Py_ssize_t e, double xi, double yi, int64_t i,
                              Py_ssize_t k, double *best, int64_t *who) {
    for (Py_ssize_t p = s; p < e; p++) {
        double dx = fabs(G->px[p] - xi), dy = fabs(G->py[p] - yi);
        double d = dx > dy ? dx : dy;
        if (d <= best[k - 1] && G->pid[p] != i && precedes(best, who, k, d, G->pid[p]))
            insert(best, who, k, d, G->pid[p]);
    }
}

/* edge()'s test of one sorted value against the centre c: within r of it on the left (sign -1), beyond r
 * on the right (sign 1). */
ALWAYS_INLINE int passed(double value, double c, double r, int inclusive, int sign) {
    return sign < 0 ? (inclusive ? c - value <= r : c - value < r) : (inclusive ? value - c > r : value - c >= r);
}

/* The first position p of [lo, hi) at which fl(c - v[p]) (sign -1) or fl(v[p] - c) (sign 1) is within r
 * (<= r if inclusive, else < r) for sign -1, beyond r for sign 1; hi if none. The test is monotone in p
 * on sorted v. Branch-free bisection (the loads decide nothing but the next address): its branches
 * would be mispredicted half the time. */
ALWAYS_INLINE Py_ssize_t edge(const double *v, Py_ssize_t lo, Py_ssize_t hi, double c, double r, int inclusive,
                              int sign) {
    if (lo >= hi) return hi;
    const double *base = v + lo;
    Py_ssize_t len = hi - lo;
    while (len > 1) {
        Py_ssize_t half = len / 2;
        base = passed(base[half], c, r, inclusive, sign) ? base : base + half;
        len -= half;
    }
    return (base - v) + !passed(*base, c, r, inclusive, sign);
}

/* The points of sorted v within [first, last) that lie within r of v[at] (<= r if inclusive, else < r),
 * v[at] itself included; first <= at < last, and no such point lies outside [first, last). */
ALWAYS_INLINE Py_ssize_t run_count(const double *v, Py_ssize_t first, Py_ssize_t at, Py_ssize_t last, double r,
                                   int inclusive) {
    return edge(v, at + 1, last, v[at], r, inclusive, 1) - edge(v, first, at, v[at], r, inclusive, -1);
}

/* n_x and n_y of every point of the grid's pair; 0, or -1 if a k-th distance overflowed. */
ALWAYS_INLINE int grid_ksg_body(const Grid *G, Py_ssize_t k, int variant, double *best, int64_t *who,
                                int64_t *out_nx, int64_t *out_ny) {
    const Py_ssize_t n = G->n, c = G->c, g = G->g;
    const double *xs = G->xs, *ys = G->ys;
    for (Py_ssize_t q = 0; q < n; q++) {
        const int64_t i = G->pid[q];
        const double xi = G->px[q], yi = G->py[q];
        const Py_ssize_t a = G->rx[i] / c, b = G->ry[i] / c;
        Py_ssize_t a0 = a, a1 = a, b0 = b, b1 = b; /* the cells searched: columns a0..a1, rows b0..b1 */
        no_neighbours(best, who, k);
        grid_offer(G, G->start[a * g + b], G->start[a * g + b + 1], xi, yi, i, k, best, who);
        for (;;) {
            double gap[4] = {
                a0 > 0 ? xi - xs[a0 * c - 1] : INFINITY,     /* the column left of the box: its largest x */
                a1 < g - 1 ? xs[(a1 + 1) * c] - xi : INFINITY, /* right: its smallest x */
                b0 > 0 ? yi - ys[b0 * c - 1] : INFINITY,
                b1 < g - 1 ? ys[(b1 + 1) * c] - yi : INFINITY,
            };
            int side = -1;
            double nearest = INFINITY;
            const int edge[4] = {a0 == 0, a1 == g - 1, b0 == 0, b1 == g - 1};
            for (int s = 0; s < 4; s++)
                if (!edge[s] && (side < 0 || gap[s] < nearest)) side = s, nearest = gap[s];
            /* Stop when every side is at the grid's edge or farther than the k-th distance (a point
             * exactly as far may still enter by its index). */
            if (side < 0 || !(nearest <= best[k - 1])) break;
            if (side == 0 || side == 1) {
                Py_ssize_t col = side == 0 ? --a0 : ++a1;
                grid_offer(G, G->start[col * g + b0], G->start[col * g + b1 + 1], xi, yi, i, k, best, who);
            } else {
                Py_ssize_t row = side == 2 ? --b0 : ++b1;
                for (Py_ssize_t col = a0; col <= a1; col++)
                    grid_offer(G, G->start[col * g + row], G->start[col * g + row + 1], xi, yi, i, k, best, who);
            }
        }
        if (who[k - 1] < 0) return -1;
        double rx = best[k - 1], ry = best[k - 1];
        if (variant == 2) {
            rx = 0.0, ry = 0.0;
            for (Py_ssize_t s = 0; s < k; s++) {
                double dx = fabs(xi - xs[G->rx[who[s]]]), dy = fabs(yi - ys[G->ry[who[s]]]);
                rx = dx > rx ? dx : rx;
                ry = dy > ry ? dy : ry;
            }
        }
        const Py_ssize_t xhi = (a1 + 1) * c < n ? (a1 + 1) * c : n, yhi = (b1 + 1) * c < n ? (b1 + 1) * c : n;
        out_nx[i] = run_count(xs, a0 * c, G->rx[i], xhi, rx, variant == 2) - 1;
        out_ny[i] = run_count(ys, b0 * c, G->ry[i], yhi, ry, variant == 2) - 1;
    }
    return 0;
}
VECTOR_COPIES(int, return, grid_ksg,
              (const Grid *G, Py_ssize_t k, int variant, double *best, int64_t *who, int64_t *out_nx,
               int64_t *out_ny),
              (G, k, variant, best, who, out_nx, out_ny))
