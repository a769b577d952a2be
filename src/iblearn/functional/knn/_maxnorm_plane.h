/* Range counts in two dimensions by one sweep, included by _maxnorm.c after _maxnorm_grid.h (its edge()).
 *
 *   plane_count(sorted, ranks, n, radius, inclusive, out): `sorted` holds the two coordinates each sorted
 *       ascending (2 * n doubles), `ranks` each point's position in them (2 * n int64); out[i] gets
 *       #{j != i : max(|x_j - x_i|, |y_j - y_i|) < radius[i]} (<= if inclusive), in the points' own order:
 *       the counts of the tree and the slabs.
 *
 * In each coordinate the points within r of point i are a run of the sorted coordinate around i's rank,
 * found by bisection (edge: the distance computation's own comparisons, monotone in the sorted values, so
 * the run is exact). The points within r in both are those whose ranks lie in both runs, a rectangle of
 * the rank plane, counted as the difference of two dominance counts on each side: a sweep along the first
 * coordinate's ranks inserts each point's second rank into a Fenwick tree (Fenwick 1994), and at the ends
 * of point i's first run reads how many inserted points lie in its second. Every count is an exact
 * integer, whatever the radius: the work is n log n, where a tree's count visits the ball's surface. */

/* Counts of the rectangles; 0, or -1 if memory ran out. */
static int plane_count_kernel(const double *sorted, const int64_t *ranks, Py_ssize_t n, const double *radius,
                              int inclusive, int64_t *out) {
    const double *xs = sorted, *ys = sorted + n;
    const int64_t *rx = ranks, *ry = ranks + n;
    /* ylo, yhi: each point's run in y; at: the point at each x rank; start, ends: the runs' ends in x,
     * bucketed by x rank (2 a point, sign in the lowest bit); fen: the Fenwick tree of y ranks */
    int64_t *ylo = malloc(n * sizeof(int64_t)), *yhi = malloc(n * sizeof(int64_t));
    int64_t *at = malloc(n * sizeof(int64_t)), *ends = malloc(2 * n * sizeof(int64_t));
    Py_ssize_t *start = calloc(n + 2, sizeof(Py_ssize_t)), *lo = malloc(2 * n * sizeof(Py_ssize_t));
    int64_t *fen = calloc(n + 1, sizeof(int64_t));
    int ok = ylo && yhi && at && ends && start && lo && fen;
    if (ok) {
        for (Py_ssize_t i = 0; i < n; i++) {
            const double r = radius[i], x = xs[rx[i]], y = ys[ry[i]];
            lo[2 * i] = edge(xs, 0, rx[i], x, r, inclusive, -1);
            lo[2 * i + 1] = edge(xs, rx[i] + 1, n, x, r, inclusive, 1);
            ylo[i] = edge(ys, 0, ry[i], y, r, inclusive, -1);
            yhi[i] = edge(ys, ry[i] + 1, n, y, r, inclusive, 1);
            start[lo[2 * i] + 1]++;
            start[lo[2 * i + 1] + 1]++;
            at[rx[i]] = i;
            out[i] = -1; /* the point itself, inside both of its runs */
        }
        for (Py_ssize_t a = 0; a <= n; a++) start[a + 1] += start[a];
        for (Py_ssize_t e = 0; e < 2 * n; e++) ends[start[lo[e]]++] = e; /* start[a] is now bucket a's end */
        Py_ssize_t e = 0;
        for (Py_ssize_t a = 0; a <= n; a++) {
            /* Bucket a: the runs that end (odd) or begin (even) at x rank a, whose count of the points of
             * x rank below a, within their y run, is added or taken away. */
            for (; e < start[a]; e++) {
                const int64_t i = ends[e] >> 1, sign = ends[e] & 1 ? 1 : -1;
                int64_t inside = 0;
                for (int64_t b = yhi[i]; b > 0; b -= b & -b) inside += fen[b];
                for (int64_t b = ylo[i]; b > 0; b -= b & -b) inside -= fen[b];
                out[i] += sign * inside;
            }
            if (a < n)
                for (int64_t b = ry[at[a]] + 1; b <= n; b += b & -b) fen[b]++;
        }
    }
    free(ylo), free(yhi), free(at), free(ends), free(start), free(lo), free(fen);
    return ok ? 0 : -1;
}
