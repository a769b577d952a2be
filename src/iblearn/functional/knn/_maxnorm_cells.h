/* The k-th neighbour search (in two to four dimensions: KSG's joint spaces of small variables) and range
 * counts (in two and three: their marginal spaces) on a grid of cells, included by _maxnorm.c after its
 * helpers (precedes, insert, no_neighbours).
 *
 *   cells(points, n, dim, g, out_order, out_bounds, out_start, out_data): points row-major in the caller's
 *       order, cut in each dimension into g slices at values drawn from a sorted sample of that coordinate
 *       (about CELL_SAMPLE a slice), so that the g^dim cells hold about n / g^dim points each whatever the
 *       marginals. out_bounds (dim * (g + 1)): slice t of dimension j holds the values in [bounds[j][t],
 *       bounds[j][t + 1]), bounds[j][0] = -inf and bounds[j][g] = +inf. The layout holds the points cell
 *       after cell, the cells in row-major order of their slice numbers (the last dimension's fastest),
 *       each point's coordinates side by side (out_data, n * dim); cell c holds the positions
 *       [start[c], start[c + 1]) and position p is the caller's point out_order[p].
 *   cells_knn(layout, order, k, first, last, out_dist, out_idx), layout the tuple (data, n, dim, g, bounds,
 *       start): knn's answers (_maxnorm.c) for the points at layout positions first..last-1.
 *
 * The search of a point starts from its own cell and grows a box of cells a slice at a time, on the side
 * whose next slice lies nearest (its gap, a lower bound of the distance of every point in it), until every
 * side's gap exceeds the current k-th distance, as the pairs' grid does in two dimensions (_maxnorm_grid.h).
 * A slice of the box is read as runs of consecutive cells along the last dimension, each one contiguous
 * piece of the layout. Gaps are differences of a point's coordinate and a boundary, which is itself a
 * coordinate, and rounding is monotone, so pruning by them is exact; a gap that overflows to infinity
 * leaves only points at an infinite distance beyond it, which never enter. The neighbours kept do not
 * depend on the order of the visits (the rule of _maxnorm_knn.h), so they are the tree's.
 *
 * Why cells and not the tree in few dimensions: a tree's query reads whole leaves and tests boxes on its
 * way down, while the k-th neighbour's cube here holds about k + 1 points; with about CELL_POINTS
 * (neighbors.py) points a cell, a search reads some 45 - 60 points in 4 dimensions at N = 10,000, 15 - 20
 * in 2, in a few runs. Timed against the tree in neighbors.py (CELL_MAX_DIM). */

/* Sample points a slice for the boundaries: any boundaries give the same answers; these only balance the
 * cells. */
#define CELL_SAMPLE 16
/* The most dimensions the grid takes (the box's slices are arrays of this size). */
#define CELL_MAXD 8

typedef struct {
    const double *data, *bounds;
    const int64_t *start;
    Py_ssize_t n, dim, g;
} Cells;

static int compare_doubles(const void *a, const void *b) {
    const double u = *(const double *)a, v = *(const double *)b;
    return (u > v) - (u < v);
}

/* The slice of v among the boundaries B[0..g) (B[0] = -inf): the last t with B[t] <= v. Branch-free
 * bisection, as edge() in _maxnorm_grid.h. */
ALWAYS_INLINE Py_ssize_t slice_of(const double *B, Py_ssize_t g, double v) {
    const double *base = B;
    Py_ssize_t len = g;
    while (len > 1) {
        Py_ssize_t half = len / 2;
        base = base[half] <= v ? base + half : base;
        len -= half;
    }
    return base - B;
}

/* 0, or -1 if out of memory. */
static int cells_build(const double *pts, Py_ssize_t n, Py_ssize_t dim, Py_ssize_t g, int64_t *order,
                       double *bounds, int64_t *start, double *data) {
    Py_ssize_t cells = 1, m = CELL_SAMPLE * g < n ? CELL_SAMPLE * g : n;
    for (Py_ssize_t j = 0; j < dim; j++) cells *= g;
    double *sample = malloc(m * sizeof(double));
    int64_t *cell = malloc(n * sizeof(int64_t));
    if (!sample || !cell) {
        free(sample);
        free(cell);
        return -1;
    }
    for (Py_ssize_t j = 0; j < dim; j++) {
        double *B = bounds + j * (g + 1);
        for (Py_ssize_t s = 0; s < m; s++) sample[s] = pts[(s * (n / m)) * dim + j];
        qsort(sample, m, sizeof(double), compare_doubles);
        B[0] = -INFINITY;
        B[g] = INFINITY;
        for (Py_ssize_t t = 1; t < g; t++) B[t] = sample[t * m / g];
    }
    for (Py_ssize_t c = 0; c <= cells; c++) start[c] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t c = 0;
        for (Py_ssize_t j = 0; j < dim; j++) c = c * g + slice_of(bounds + j * (g + 1), g, pts[i * dim + j]);
        cell[i] = c;
        start[c + 1]++;
    }
    for (Py_ssize_t c = 0; c < cells; c++) start[c + 1] += start[c];
    for (Py_ssize_t i = 0; i < n; i++) { /* a counting sort, stable: each cell's points in the caller's order */
        Py_ssize_t p = start[cell[i]]++;
        memcpy(data + p * dim, pts + i * dim, dim * sizeof(double));
        order[p] = i;
    }
    for (Py_ssize_t c = cells; c > 0; c--) start[c] = start[c - 1]; /* each start moved to the next cell's */
    start[0] = 0;
    free(sample);
    free(cell);
    return 0;
}

/* The max-norm distance from c to the point at layout position p. */
ALWAYS_INLINE double cell_distance(const double *data, Py_ssize_t dim, Py_ssize_t p, const double *c) {
    const double *x = data + p * dim;
    double d = 0.0;
    for (Py_ssize_t j = 0; j < dim; j++) {
        double a = fabs(x[j] - c[j]);
        d = a > d ? a : d;
    }
    return d;
}

/* Offer the points at layout positions [s, e) to the point at position i, whose coordinates are c. */
ALWAYS_INLINE void cell_offer(const Cells *C, Py_ssize_t dim, const int64_t *order, Py_ssize_t s, Py_ssize_t e,
                              Py_ssize_t i, const double *c, Py_ssize_t k, double *best, int64_t *who) {
    for (Py_ssize_t p = s; p < e; p++) {
        const double d = cell_distance(C->data, dim, p, c);
        if (d <= best[k - 1] && p != i && precedes(best, who, k, d, order[p])) insert(best, who, k, d, order[p]);
    }
}

/* A walk over the layout's positions from `first` on, cell by cell: the grid's strides (the last
 * dimension's 1), the cell of position first (the last cell that starts at or before it) and its slices
 * `at`; then cell_step, position by position, moves to the next cell's slices by a carry. */
ALWAYS_INLINE Py_ssize_t cell_walk(const Cells *C, Py_ssize_t dim, Py_ssize_t first, Py_ssize_t *stride,
                                   Py_ssize_t *at) {
    const Py_ssize_t g = C->g, inner = dim - 1;
    stride[inner] = 1;
    for (Py_ssize_t j = inner; j > 0; j--) stride[j - 1] = stride[j] * g;
    Py_ssize_t cell = 0;
    for (Py_ssize_t len = stride[0] * g; len > 1;) {
        Py_ssize_t half = len / 2;
        cell = C->start[cell + half] <= first ? cell + half : cell;
        len -= half;
    }
    for (Py_ssize_t j = 0; j < dim; j++) at[j] = cell / stride[j] % g;
    return cell;
}

/* The cell of position i, the walk at the cell of position i - 1 (cell and its slices at). */
ALWAYS_INLINE Py_ssize_t cell_step(const Cells *C, Py_ssize_t dim, Py_ssize_t i, Py_ssize_t cell, Py_ssize_t *at) {
    while (i >= C->start[cell + 1]) {
        cell++;
        for (Py_ssize_t j = dim - 1; j >= 0 && ++at[j] == C->g; j--) at[j] = 0;
    }
    return cell;
}

/* dim: C->dim, a constant where the caller (cells_knn_kernel_body) makes it one, so that the distance loop unrolls. */
ALWAYS_INLINE void cells_knn_search(const Cells *C, Py_ssize_t dim, const int64_t *order, Py_ssize_t k,
                                    Py_ssize_t first, Py_ssize_t last, double *out_d, int64_t *out_i) {
    const Py_ssize_t g = C->g, inner = dim - 1;
    const int64_t *start = C->start;
    Py_ssize_t stride[CELL_MAXD], at[CELL_MAXD], lo[CELL_MAXD], hi[CELL_MAXD], slice[CELL_MAXD];
    double gap[2 * CELL_MAXD]; /* gap[2j]: below the box in dimension j, gap[2j + 1]: above it */
    Py_ssize_t cell = cell_walk(C, dim, first, stride, at);
    for (Py_ssize_t i = first; i < last; i++) {
        cell = cell_step(C, dim, i, cell, at);
        const double *c = C->data + i * dim;
        double *best = out_d + i * k;
        int64_t *who = out_i + i * k;
        no_neighbours(best, who, k);
        for (Py_ssize_t j = 0; j < dim; j++) {
            const double *B = C->bounds + j * (g + 1);
            lo[j] = hi[j] = at[j];
            gap[2 * j] = c[j] - B[at[j]]; /* +inf at the grid's edge (B[0] = -inf, B[g] = +inf) */
            gap[2 * j + 1] = B[at[j] + 1] - c[j];
        }
        cell_offer(C, dim, order, start[cell], start[cell + 1], i, c, k, best, who);
        for (;;) {
            Py_ssize_t side = 0;
            double nearest = gap[0];
            for (Py_ssize_t s = 1; s < 2 * dim; s++)
                if (gap[s] < nearest) side = s, nearest = gap[s];
            /* Stop when every side is farther than the k-th distance (a point exactly as far may still
             * enter by its index) or at the grid's edge. */
            if (!(nearest <= best[k - 1]) || nearest == INFINITY) break;
            const Py_ssize_t grow = side / 2, s = side & 1 ? ++hi[grow] : --lo[grow];
            const double *B = C->bounds + grow * (g + 1);
            gap[side] = side & 1 ? B[s + 1] - c[grow] : c[grow] - B[s];
            /* The box's new slice: its cells with slice s in dimension `grow`, a run along the last
             * dimension (one cell where that is the one grown) for each choice of the others. */
            for (Py_ssize_t j = 0; j < dim; j++) slice[j] = lo[j];
            slice[grow] = s;
            const Py_ssize_t run_lo = grow == inner ? s : lo[inner], run_hi = grow == inner ? s : hi[inner];
            for (;;) {
                Py_ssize_t base = 0;
                for (Py_ssize_t j = 0; j < inner; j++) base += slice[j] * stride[j];
                cell_offer(C, dim, order, start[base + run_lo], start[base + run_hi + 1], i, c, k, best, who);
                Py_ssize_t j = inner - 1;
                for (; j >= 0; j--) {
                    if (j == grow) continue;
                    if (++slice[j] <= hi[j]) break;
                    slice[j] = lo[j];
                }
                if (j < 0) break;
            }
        }
    }
}

ALWAYS_INLINE void cells_knn_kernel_body(const Cells *C, const int64_t *order, Py_ssize_t k, Py_ssize_t first,
                                         Py_ssize_t last, double *out_d, int64_t *out_i) {
    switch (C->dim) {
    case 2: cells_knn_search(C, 2, order, k, first, last, out_d, out_i); break;
    case 3: cells_knn_search(C, 3, order, k, first, last, out_d, out_i); break;
    case 4: cells_knn_search(C, 4, order, k, first, last, out_d, out_i); break;
    default: cells_knn_search(C, C->dim, order, k, first, last, out_d, out_i);
    }
}
VECTOR_COPIES(void, , cells_knn_kernel,
              (const Cells *C, const int64_t *order, Py_ssize_t k, Py_ssize_t first, Py_ssize_t last,
               double *out_d, int64_t *out_i),
              (C, order, k, first, last, out_d, out_i))

/* Range counts on the grid: cells_count(layout, radius, inclusive, first, last, out), layout as for
 * cells_knn and radius in layout order: count's answers (_maxnorm.c) for the points at layout positions
 * first..last-1, out in layout order. The grid of counts has larger cells than the search's (neighbors.py,
 * COUNT_CELL_POINTS), since a count's cube holds many more points than a k-th neighbour's.
 *
 * A point's box of cells is found from its own slice in each dimension, grown while the next slice
 * may hold a point within the radius (the gap to its boundary below the radius, as in the search). A
 * slice whose both boundaries lie within the radius of the point holds only points within it, so a
 * run of such cells, on a slice of the other dimensions that are all such, is counted from the
 * layout's starts without reading its points: the work is the box's surface, as the tree's counts
 * that add whole nodes (_maxnorm_tree.h). The boundary tests are exact for the reason the search's
 * gaps are. A count up to r inclusive is the strict count below the next double above r. */

/* Points at layout positions [s, e) closer to c than r (the max-norm distance below r). */
ALWAYS_INLINE int64_t cell_count_run(const double *data, Py_ssize_t dim, Py_ssize_t s, Py_ssize_t e,
                                     const double *c, double r) {
    int64_t m = 0;
    for (Py_ssize_t p = s; p < e; p++) m += cell_distance(data, dim, p, c) < r;
    return m;
}

/* dim: C->dim, a constant where the caller (cells_count_kernel_body) makes it one. */
ALWAYS_INLINE void cells_count_search(const Cells *C, Py_ssize_t dim, const double *radius, int inclusive,
                                      Py_ssize_t first, Py_ssize_t last, int64_t *out) {
    const Py_ssize_t g = C->g, inner = dim - 1;
    const int64_t *start = C->start;
    Py_ssize_t stride[CELL_MAXD], at[CELL_MAXD], lo[CELL_MAXD], hi[CELL_MAXD], ilo[CELL_MAXD], ihi[CELL_MAXD],
        slice[CELL_MAXD];
    Py_ssize_t cell = cell_walk(C, dim, first, stride, at);
    for (Py_ssize_t i = first; i < last; i++) {
        cell = cell_step(C, dim, i, cell, at);
        const double *c = C->data + i * dim;
        const double r = inclusive ? nextafter(radius[i], INFINITY) : radius[i];
        for (Py_ssize_t j = 0; j < dim; j++) {
            /* Slice t holds values in [B[t], B[t + 1]): those below B[t] lie at least c - B[t] away, those
             * above B[t + 1] at least B[t + 1] - c (B[0] = -inf and B[g] = +inf give +inf). */
            const double *B = C->bounds + j * (g + 1), v = c[j];
            Py_ssize_t a = at[j], b = at[j];
            while (v - B[a] < r) a--;
            while (B[b + 1] - v < r) b++;
            lo[j] = a;
            hi[j] = b;
            while (a <= b && !(v - B[a] < r)) a++;
            while (b >= a && !(B[b + 1] - v < r)) b--;
            ilo[j] = a;
            ihi[j] = b;
        }
        int64_t m = 0;
        for (Py_ssize_t j = 0; j < inner; j++) slice[j] = lo[j];
        for (;;) {
            Py_ssize_t base = 0;
            int interior = ilo[inner] <= ihi[inner];
            for (Py_ssize_t j = 0; j < inner; j++) {
                base += slice[j] * stride[j];
                interior &= ilo[j] <= slice[j] && slice[j] <= ihi[j];
            }
            const int64_t *s = start + base;
            if (interior) {
                m += s[ihi[inner] + 1] - s[ilo[inner]];
                m += cell_count_run(C->data, dim, s[lo[inner]], s[ilo[inner]], c, r);
                m += cell_count_run(C->data, dim, s[ihi[inner] + 1], s[hi[inner] + 1], c, r);
            } else {
                m += cell_count_run(C->data, dim, s[lo[inner]], s[hi[inner] + 1], c, r);
            }
            Py_ssize_t j = inner - 1;
            for (; j >= 0; j--) {
                if (++slice[j] <= hi[j]) break;
                slice[j] = lo[j];
            }
            if (j < 0) break;
        }
        out[i] = m - (r > 0); /* the point itself, at distance 0, counted where 0 < r */
    }
}

ALWAYS_INLINE void cells_count_kernel_body(const Cells *C, const double *radius, int inclusive, Py_ssize_t first,
                                           Py_ssize_t last, int64_t *out) {
    switch (C->dim) {
    case 2: cells_count_search(C, 2, radius, inclusive, first, last, out); break;
    case 3: cells_count_search(C, 3, radius, inclusive, first, last, out); break;
    case 4: cells_count_search(C, 4, radius, inclusive, first, last, out); break;
    default: cells_count_search(C, C->dim, radius, inclusive, first, last, out);
    }
}
VECTOR_COPIES(void, , cells_count_kernel,
              (const Cells *C, const double *radius, int inclusive, Py_ssize_t first, Py_ssize_t last,
               int64_t *out),
              (C, radius, inclusive, first, last, out))
