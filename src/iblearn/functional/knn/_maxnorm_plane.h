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

ALWAYS_INLINE int64_t fenwick_below(const int32_t *fen, int64_t b) {
    int64_t sum = 0;
    for (; b > 0; b -= b & -b) sum += fen[b];
    return sum;
}

/* The most trees sweep_count carries. */
#define SWEEP_TREES_MAX 2

/* A point's runs in coordinates 0 .. m - 1 (n sorted values each in `sorted`, its ranks in them in `rank`):
 * edge(v, 0, rank, v[rank], r, inclusive, -1) and edge(v, rank + 1, n, v[rank], r, inclusive, 1) of each
 * coordinate v into found[2 t] and found[2 t + 1], edge()'s comparisons (passed) on the same loads, so the same
 * positions. The 2 m bisections run in lockstep: each one's next load waits on its last, so one after
 * another they stall on every load, where side by side their loads overlap (docs/design.md, "Measurements
 * behind the code"). A side with no values (the point first or last) keeps its base on a value in bounds
 * and takes no step; it ends where edge() returns for no values. */
ALWAYS_INLINE void run_edges(const double *sorted, const int64_t *rank, Py_ssize_t n, int m, double r,
                             int inclusive, Py_ssize_t *found) {
    const double *base[2 * (SWEEP_TREES_MAX + 1)];
    Py_ssize_t len[2 * (SWEEP_TREES_MAX + 1)], longest = 0;
    double c[SWEEP_TREES_MAX + 1];
    for (int t = 0; t < m; t++) {
        const double *v = sorted + t * n;
        c[t] = v[rank[t]];
        base[2 * t] = v, len[2 * t] = rank[t];
        len[2 * t + 1] = n - rank[t] - 1;
        base[2 * t + 1] = len[2 * t + 1] ? v + rank[t] + 1 : v + rank[t];
        longest = len[2 * t] > longest ? len[2 * t] : longest;
        longest = len[2 * t + 1] > longest ? len[2 * t + 1] : longest;
    }
    /* The longest side's length bounds every other's at each step (ceil(len / 2) is monotone); a side
     * down to one value halves by none. */
    for (; longest > 1; longest -= longest / 2)
        for (int t = 0; t < m; t++) {
            const Py_ssize_t hl = len[2 * t] / 2, hr = len[2 * t + 1] / 2;
            base[2 * t] = passed(base[2 * t][hl], c[t], r, inclusive, -1) ? base[2 * t] : base[2 * t] + hl;
            base[2 * t + 1] =
                passed(base[2 * t + 1][hr], c[t], r, inclusive, 1) ? base[2 * t + 1] : base[2 * t + 1] + hr;
            len[2 * t] -= hl, len[2 * t + 1] -= hr;
        }
    for (int t = 0; t < m; t++) {
        const double *v = sorted + t * n;
        found[2 * t] = !len[2 * t] ? 0 : (base[2 * t] - v) + !passed(*base[2 * t], c[t], r, inclusive, -1);
        found[2 * t + 1] =
            !len[2 * t + 1] ? n : (base[2 * t + 1] - v) + !passed(*base[2 * t + 1], c[t], r, inclusive, 1);
    }
}

/* The counts in the planes (0, last), out0, and with 2 trees (1, last), out1, and where line is not NULL
 * the count on the last coordinate alone; 0, or -1 if memory ran out. Outputs as arguments, not an array
 * of them: plane_count's loops compile as tight as a kernel of its own. */
ALWAYS_INLINE int sweep_count(const double *sorted, const int64_t *ranks, Py_ssize_t n, int trees,
                              const double *radius, int inclusive, int64_t *out0, int64_t *out1, int64_t *line) {
    int64_t *const out[2] = {out0, out1};
    const int64_t *rz = ranks + trees * n;
    const int w = 2 * trees; /* a run end's entry: its point's runs in the other coordinates */
    /* The sweep reads its buckets' entries in order, each entry holding its point's runs: read at the
     * points' indices, each read missed the cache. at: the point of each swept rank; other: its ranks in all
     * coordinates (trees + 1 a swept rank); rs: its radius, both gathered in a pass of their own, whose
     * loads do not wait on one another's; mine: its runs in the other coordinates (w a swept rank); lo:
     * its swept run's ends (2 a swept rank); start: the buckets of the swept ranks the ends lie at; where:
     * each end's place in them; runs: the runs of each place's point (w a place); seen: the points swept
     * before a place that lie in those runs (a tree a place); fen: the Fenwick trees, n + 1 a tree. */
    int64_t *at = malloc(n * sizeof(int64_t)), *other = malloc((trees + 1) * n * sizeof(int64_t));
    double *rs = malloc(n * sizeof(double));
    Py_ssize_t *start = calloc(n + 2, sizeof(Py_ssize_t)), *lo = malloc(2 * n * sizeof(Py_ssize_t));
    Py_ssize_t *where = malloc(2 * n * sizeof(Py_ssize_t));
    int32_t *mine = malloc(w * n * sizeof(int32_t)), *runs = malloc(2 * w * n * sizeof(int32_t));
    int32_t *seen = malloc(2 * trees * n * sizeof(int32_t)), *fen = calloc(trees * (n + 1), sizeof(int32_t));
    int ok = at && other && rs && start && lo && where && mine && runs && seen && fen;
    if (ok) {
        for (Py_ssize_t i = 0; i < n; i++) at[rz[i]] = i;
        for (Py_ssize_t s = 0; s < n; s++) {
            for (int t = 0; t <= trees; t++) other[(trees + 1) * s + t] = ranks[t * n + at[s]];
            rs[s] = radius[at[s]];
        }
        for (Py_ssize_t s = 0; s < n; s++) {
            Py_ssize_t found[2 * (SWEEP_TREES_MAX + 1)];
            run_edges(sorted, other + (trees + 1) * s, n, trees + 1, rs[s], inclusive, found);
            for (int j = 0; j < w; j++) mine[w * s + j] = (int32_t)found[j];
            lo[2 * s] = found[w];
            lo[2 * s + 1] = found[w + 1];
            if (line) line[at[s]] = lo[2 * s + 1] - lo[2 * s] - 1;
            start[lo[2 * s] + 1]++;
            start[lo[2 * s + 1] + 1]++;
        }
        for (Py_ssize_t a = 0; a <= n; a++) start[a + 1] += start[a];
        for (Py_ssize_t e = 0; e < 2 * n; e++) { /* start[a] ends as bucket a's end */
            const Py_ssize_t place = where[e] = start[lo[e]]++;
            memcpy(runs + w * place, mine + w * (e >> 1), w * sizeof(int32_t));
        }
        Py_ssize_t place = 0;
        for (Py_ssize_t a = 0; a <= n; a++) {
            /* Bucket a: the runs that begin or end at swept rank a, where the points of swept rank below a
             * within their other runs are counted. */
            for (; place < start[a]; place++)
                for (int t = 0; t < trees; t++) {
                    const int32_t *run = runs + w * place + 2 * t, *tree = fen + t * (n + 1);
                    seen[trees * place + t] = (int32_t)(fenwick_below(tree, run[1]) - fenwick_below(tree, run[0]));
                }
            if (a < n)
                for (int t = 0; t < trees; t++)
                    for (int64_t b = other[(trees + 1) * a + t] + 1; b <= n; b += b & -b) fen[t * (n + 1) + b]++;
        }
        /* A point's count: those swept before its run's end, less those swept before its beginning, less
         * itself, inside both of its runs. */
        for (int t = 0; t < trees; t++)
            for (Py_ssize_t s = 0; s < n; s++)
                out[t][at[s]] = (int64_t)seen[trees * where[2 * s + 1] + t] - seen[trees * where[2 * s] + t] - 1;
    }
    free(at), free(other), free(rs), free(start), free(lo), free(where), free(mine), free(runs), free(seen), free(fen);
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
