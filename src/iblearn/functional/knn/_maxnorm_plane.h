/* Range counts in two dimensions by one sweep, included by _maxnorm.c after _maxnorm_grid.h (its edge()).
 *
 *   plane_count(sorted, ranks, n, radius, inclusive, out): `sorted` holds the two coordinates each sorted
 *       ascending (2 * n doubles), `ranks` each point's position in them (2 * n int64); out[i] gets
 *       #{j != i : max(|x_j - x_i|, |y_j - y_i|) < radius[i]} (<= if inclusive), in the points' own order:
 *       the counts of the tree and the slabs.
 *   cmi_plane_count(sorted, ranks, n, radius, inclusive, out_nxz, out_nyz, out_nz): the same layout of three
 *       coordinates x, y, z (3 * n each): the counts in the (x, z) and (y, z) planes and on z alone, those
 *       of Frenzel-Pompe's CMI on single columns, by one sweep along z.
 *
 * In each coordinate the points within r of point i are a run of the sorted coordinate around i's rank,
 * found by bisection (edge: the distance computation's own comparisons, monotone in the sorted values, so
 * the run is exact). The points within r in both are those whose ranks lie in both runs, a rectangle of
 * the rank plane, counted as the difference of two dominance counts on each side: a sweep along the last
 * coordinate's ranks inserts each point's rank in the other coordinate into a Fenwick tree (Fenwick 1994),
 * and at the ends of point i's run in the swept coordinate reads how many inserted points lie in its
 * other run. Every count is an exact integer, whatever the radius: the work is n log n, where a tree's
 * count visits the ball's surface.
 *
 * The CMI's two planes share z, and point i's run in z is the same in both and in the count on z alone
 * (its length less one): one sweep along z bisects and buckets that run once, carries a Fenwick tree
 * each for x and for y, and reads both at the run's ends, 6 bisections a point where the three counts
 * apart take 10. The rectangles are the same, so are the counts (docs/design.md, "Measurements behind
 * the code"). */

ALWAYS_INLINE int64_t fenwick_below(const int64_t *fen, int64_t b) {
    int64_t sum = 0;
    for (; b > 0; b -= b & -b) sum += fen[b];
    return sum;
}

/* The counts in the planes (0, last), out0, and with 2 trees (1, last), out1, and where line is not NULL
 * the count on the last coordinate alone; 0, or -1 if memory ran out. Outputs as arguments, not an array
 * of them: plane_count's loops compile as tight as a kernel of its own. */
ALWAYS_INLINE int sweep_count(const double *sorted, const int64_t *ranks, Py_ssize_t n, int trees,
                              const double *radius, int inclusive, int64_t *out0, int64_t *out1, int64_t *line) {
    int64_t *const out[2] = {out0, out1};
    const double *zs = sorted + trees * n;
    const int64_t *rz = ranks + trees * n;
    /* runs: each point's run in the other coordinates (2 a tree); at: the point at each swept rank; start,
     * ends: the swept runs' ends, bucketed by swept rank (2 a point, sign in the lowest bit); fen: the
     * Fenwick trees, n + 1 a tree */
    int64_t *runs = malloc(2 * trees * n * sizeof(int64_t)), *at = malloc(n * sizeof(int64_t));
    int64_t *ends = malloc(2 * n * sizeof(int64_t)), *fen = calloc(trees * (n + 1), sizeof(int64_t));
    Py_ssize_t *start = calloc(n + 2, sizeof(Py_ssize_t)), *lo = malloc(2 * n * sizeof(Py_ssize_t));
    int ok = runs && at && ends && fen && start && lo;
    if (ok) {
        for (Py_ssize_t i = 0; i < n; i++) {
            const double r = radius[i], z = zs[rz[i]];
            lo[2 * i] = edge(zs, 0, rz[i], z, r, inclusive, -1);
            lo[2 * i + 1] = edge(zs, rz[i] + 1, n, z, r, inclusive, 1);
            for (int t = 0; t < trees; t++) {
                const double *v = sorted + t * n;
                const int64_t rank = ranks[t * n + i];
                runs[2 * (trees * i + t)] = edge(v, 0, rank, v[rank], r, inclusive, -1);
                runs[2 * (trees * i + t) + 1] = edge(v, rank + 1, n, v[rank], r, inclusive, 1);
                out[t][i] = -1; /* the point itself, inside both of its runs */
            }
            if (line) line[i] = lo[2 * i + 1] - lo[2 * i] - 1;
            start[lo[2 * i] + 1]++;
            start[lo[2 * i + 1] + 1]++;
            at[rz[i]] = i;
        }
        for (Py_ssize_t a = 0; a <= n; a++) start[a + 1] += start[a];
        for (Py_ssize_t e = 0; e < 2 * n; e++) ends[start[lo[e]]++] = e; /* start[a] is now bucket a's end */
        Py_ssize_t e = 0;
        for (Py_ssize_t a = 0; a <= n; a++) {
            /* Bucket a: the runs that end (odd) or begin (even) at swept rank a, whose count of the points
             * of swept rank below a, within their other run, is added or taken away. */
            for (; e < start[a]; e++) {
                const int64_t i = ends[e] >> 1, sign = ends[e] & 1 ? 1 : -1;
                for (int t = 0; t < trees; t++) {
                    const int64_t *run = runs + 2 * (trees * i + t), *tree = fen + t * (n + 1);
                    out[t][i] += sign * (fenwick_below(tree, run[1]) - fenwick_below(tree, run[0]));
                }
            }
            if (a < n)
                for (int t = 0; t < trees; t++)
                    for (int64_t b = ranks[t * n + at[a]] + 1; b <= n; b += b & -b) fen[t * (n + 1) + b]++;
        }
    }
    free(runs), free(at), free(ends), free(fen), free(start), free(lo);
    return ok ? 0 : -1;
}

static int plane_count_kernel(const double *sorted, const int64_t *ranks, Py_ssize_t n, const double *radius,
                              int inclusive, int64_t *out) {
    return sweep_count(sorted, ranks, n, 1, radius, inclusive, out, NULL, NULL);
}

static int cmi_plane_count_kernel(const double *sorted, const int64_t *ranks, Py_ssize_t n, const double *radius,
                                  int inclusive, int64_t *out_nxz, int64_t *out_nyz, int64_t *out_nz) {
    return sweep_count(sorted, ranks, n, 2, radius, inclusive, out_nxz, out_nyz, out_nz);
}
