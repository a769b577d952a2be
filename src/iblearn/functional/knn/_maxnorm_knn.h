/* The k-th neighbour search of the k-d tree (_maxnorm_tree.h), included by _maxnorm.c after it (one
 * translation unit). It uses precedes(), insert() and the tree's helpers.
 *
 * Which neighbours are kept: the first k of the other points in the order of (distance, caller's index),
 * so among points at the same distance the smaller index wins (precedes, insert). That set does not
 * depend on the order in which a search visits the points, so the slabs, the tree point by point and
 * the tree a query leaf at a time (below) return the same neighbours, and brute force
 * (_neighbors.smallest) orders them the same way; KSG's variant 2 reads their marginal distances. A
 * node is pruned only when its box lies farther than the current k-th distance (one exactly as far may
 * hold a point of smaller index). */

/* offer_leaf's first pass, in float32 (twice the lanes of float64, half the memory): b, the float32
 * bound of leaf t for `bound`, or NaN where the leaf or the bound leave float32's range (beyond 1e30,
 * where inf - inf would be a NaN, which compares false). Exact by a rounding bound: for a coordinate a of
 * the leaf and v of c, |fl32(a) - a| <= 2^-24 |a| + 2^-150 (round to nearest; the second term for
 * float32's subnormals), so fl32(a) - fl32(v) lies within 2^-24 (|a| + |v|) + 2^-149 of a - v; its own
 * rounding adds at most 2^-24 of it (a subnormal difference is exact), and the float64 distance lies
 * within 2^-53 |a - v| of |a - v|: the two distances differ by less than 2^-22 (|a| + |v|) + 2^-140 in
 * each dimension, hence in their max (exact). A point within `bound` in float64 has
 * |v| <= |a| + bound (1 + 2^-53) in every dimension, so with m the largest |a| of the leaf's box
 * (leaf_max) its float32 distance is at most bound (1 + 2^-21) + 2^-21 m + 2^-140, which b is, evaluated
 * in float64 and rounded to float32 (each rounding down by at most 2^-53 or 2^-24 relative, which the
 * factor 1 + 2^-22 covers). A c far beyond the leaf may round to an infinite float32 coordinate, whose
 * distance is then infinite: right, since no point of the leaf is within `bound` of it there. */
ALWAYS_INLINE float float32_bound(const Tree *T, Py_ssize_t t, double bound) {
    const double m = T->leaf_max[t - T->first_leaf];
    if (!(m <= 1e30 && bound <= 1e30)) return NAN;
    return (float)((bound * (1 + 0x1p-21) + (0x1p-21 * m + 0x1p-140)) * (1 + 0x1p-22));
}

/* The float32 distances from c of leaf t's points, into near, a dimension at a time as offer_leaf's;
 * 0 as soon as every point lies beyond b in the dimensions read (a partial max is at most the whole). */
ALWAYS_INLINE int float32_pass(const Tree *T, Py_ssize_t t, const double *c, float b, float *near) {
    const Py_ssize_t lo = T->span[2 * t], len = T->span[2 * t + 1] - lo;
    const float *data = T->data32 + lo * T->dim;
    for (Py_ssize_t j = 0; j < T->dim; j++) {
        const float *col = data + j * len, v = (float)c[j];
        int32_t within = 0;
        for (Py_ssize_t s = 0; s < len; s++) {
            float a = fabsf(col[s] - v), d = j ? near[s] : 0.0f;
            near[s] = a > d ? a : d;
            within |= near[s] <= b;
        }
        if (!within) return 0;
    }
    return 1;
}

/* Offer the point at layout position p, at distance d, to the point at position i's top-k list. */
ALWAYS_INLINE void offer_point(const int64_t *order, Py_ssize_t p, Py_ssize_t i, double d, Py_ssize_t k,
                               double *best, int64_t *who) {
    if (d <= best[k - 1] && p != i && precedes(best, who, k, d, order[p])) insert(best, who, k, d, order[p]);
}

/* Offer the points of leaf t to the point at layout position i, whose coordinates are c; its k-th
 * distance afterwards. The distances are built up a dimension at a time (the max-norm only grows), and
 * once every point of the leaf lies farther than the k-th distance none can enter, so the leaf is left:
 * most leaves a search reads hold no neighbour (at N = 1,000,000 in 10 dimensions about 5,000 points
 * are read for k = 3). The distances that are completed are block_distances' numbers. Measured against
 * the full distances (the query leaf walk, A/B in one process, thread CPU time, 5x5 KSG's joint space):
 * 1.24x at N = 1,000,000 with leaves of 32, 1.18x -> 1.39x with leaves of 64; starting from the
 * dimension in which the leaf's box lies farthest from c was slower (1.17x).
 *
 * Given the tree's float32 copy, that pass runs in float32 first (float32_bound, float32_pass), and
 * only the points it leaves within b get their float64 distance, the same number as block_distances':
 * every point that enters the list, and in the same order, is one the float64 pass alone would enter.
 * Measured slower: the whole float64 pass over every leaf the float32 one does not drop, and a rounding
 * bound taken from c's coordinates at each leaf (float64 arithmetic a leaf); the gains are in
 * docs/design.md, "Measurements behind the code". */
ALWAYS_INLINE double offer_leaf(const Tree *T, const int64_t *order, Py_ssize_t t, Py_ssize_t i, const double *c,
                                Py_ssize_t k, double *best, int64_t *who, Float32Use *u) {
    double dist[LEAF_MAX];
    const Py_ssize_t lo = T->span[2 * t], len = T->span[2 * t + 1] - lo;
    const double *data = T->data + lo * T->dim, bound = best[k - 1];
    float b;
    if (T->data32 && float32_pays(u) && !isnan(b = float32_bound(T, t, bound))) {
        float near[LEAF_MAX];
        u->tried++;
        if (!float32_pass(T, t, c, b, near)) return bound;
        Py_ssize_t passed = 0;
        for (Py_ssize_t s = 0; s < len; s++) passed += near[s] <= b;
        if (passed * FLOAT32_FEW <= len) {
            for (Py_ssize_t s = 0; s < len; s++) {
                if (!(near[s] <= b)) continue;
                double d = 0.0;
                for (Py_ssize_t j = 0; j < T->dim; j++) {
                    double a = fabs(data[j * len + s] - c[j]);
                    d = a > d ? a : d;
                }
                offer_point(order, lo + s, i, d, k, best, who);
            }
            return best[k - 1];
        }
        /* Many points left (ties at the k-th distance): the float64 pass below, whose loops run down the
         * leaf's columns, costs less than their distances one point at a time; this pass was wasted. */
        u->wasted++;
    }
    for (Py_ssize_t s = 0; s < len; s++) dist[s] = 0.0;
    for (Py_ssize_t j = 0; j < T->dim; j++) {
        const double *col = data + j * len, v = c[j];
        int64_t within = 0;
        for (Py_ssize_t s = 0; s < len; s++) {
            double a = fabs(col[s] - v);
            dist[s] = a > dist[s] ? a : dist[s];
            within |= dist[s] <= bound;
        }
        if (!within) return bound;
    }
    for (Py_ssize_t s = 0; s < len; s++) offer_point(order, lo + s, i, dist[s], k, best, who);
    return best[k - 1];
}

/* Depth first, nearer child first (Friedman et al. 1977): the search of node `root`'s subtree, whose box
 * lies `root_near` from c, for the point at layout position i, leaving out leaf `skip` (whose points
 * the caller has already offered; -1 for none). A best-first search (nodes from a heap in order of box
 * distance) read 12% fewer points at N = 1,000,000 but took longer at 300,000 and 1,000,000 (heap
 * upkeep; measured interleaved). */
ALWAYS_INLINE void tree_knn_search(const Tree *T, const int64_t *order, Py_ssize_t i, const double *c,
                                   Py_ssize_t k, double *best, int64_t *who, Py_ssize_t root, double root_near,
                                   Py_ssize_t skip, Float32Use *u) {
    /* Iterative, so that the search is compiled into each copy of the kernel (a recursive function
     * stayed at the baseline's SSE2): the nodes still to visit, each with its box's distance, nearer
     * child on top, as the recursion visited them. */
    Py_ssize_t node[2 * 64];
    double near[2 * 64];
    int top = 1;
    node[0] = root;
    near[0] = root_near;
    while (top > 0) {
        Py_ssize_t t = node[--top];
        if (near[top] > best[k - 1]) continue;
        if (t >= T->first_leaf) {
            if (t != skip) offer_leaf(T, order, t, i, c, k, best, who, u);
            continue;
        }
        Py_ssize_t l = 2 * t + 1, r = 2 * t + 2;
        double dl = box_near(T, l, c), dr = box_near(T, r, c);
        if (dr < dl) {
            Py_ssize_t u = l;
            double du = dl;
            l = r, dl = dr, r = u, dr = du;
        }
        node[top] = r, near[top++] = dr;
        node[top] = l, near[top++] = dl;
    }
}

/* The k-th neighbour a query leaf at a time, as the range counts (tree_count_kernel). Each
 * point of the leaf keeps its own top-k list and bound (its current k-th distance); they start from the
 * leaf's own points, then walk the tree together from the root: at each node all of them are tested
 * against its box in one vectorised loop (box_near's comparisons), a point whose bound the box exceeds
 * is masked off below the node, and the node is entered while any is left; children in the order of
 * the query leaf (the child holding it first, else the one nearer to its box's centre). Once at most
 * KNN_ALONE points are left below a node, each goes on by its own search (tree_knn_search). Every
 * pruning is by a point's own bound, which only falls to its final k-th distance, so each point gets
 * the k-th distance and the neighbours of its own search (see the rule above). The leaves read are
 * about those of the point's own search (1.5% more at N = 1,000,000); what is saved is the box tests.
 * Against the point-by-point search (full leaf distances, leaves of 32), A/B in one process, 5x5 KSG's
 * joint space, thread CPU time, interleaved ranges: 1.14 - 1.20x at N = 1,000,000 with leaves of 32
 * or 64, and with offer_leaf's early exit and leaves of 64 (_neighbors.TREE_LEAF) 1.35 - 1.39x; at
 * 100,000 1.27x. At most 4, 2 or 16 points left to go on alone: 1.13x, 1.04x, 1.12x (8: 1.14x; leaves
 * of 32, no early exit); children in the order of the searching points' summed box distances: 1.07x;
 * a test of the query leaf's box against the node's before the points' own: no gain. */
#define KNN_ALONE 8

ALWAYS_INLINE void tree_knn_kernel_body(const Tree *T, const int64_t *order, Py_ssize_t k, Py_ssize_t first,
                                        Py_ssize_t last, double *centre, double *out_d, int64_t *out_i) {
    const Py_ssize_t dim = T->dim, fl = T->first_leaf;
    double *mid = centre + dim; /* the query leaf's box centre (the caller allots 2 dim) */
    int64_t open[42][LEAF_MAX];    /* open[l]: the points still searching at the node entered at level l */
    double near[LEAF_MAX], bound[LEAF_MAX];
    for (Py_ssize_t q = fl; q < 2 * fl + 1; q++) {
        const Py_ssize_t a = T->span[2 * q], len = T->span[2 * q + 1] - a;
        if (a + len <= first || a >= last) continue;
        const double *pts = T->data + a * dim, *qlo = T->boxes + 2 * q * dim, *qhi = qlo + dim;
        for (Py_ssize_t j = 0; j < dim; j++) mid[j] = qlo[j] / 2 + qhi[j] / 2;
        Float32Use pays = {0, 0};
        for (Py_ssize_t p = 0; p < len; p++) {
            open[0][p] = a + p >= first && a + p < last;
            bound[p] = -INFINITY; /* no box is entered for a point outside the range */
            if (!open[0][p]) continue;
            double *best = out_d + (a + p) * k;
            int64_t *who = out_i + (a + p) * k;
            no_neighbours(best, who, k);
            for (Py_ssize_t j = 0; j < dim; j++) centre[j] = pts[j * len + p];
            bound[p] = offer_leaf(T, order, q, a + p, centre, k, best, who, &pays);
        }
        Py_ssize_t node[2 * 64];
        int level[2 * 64], top = 1;
        node[0] = 0, level[0] = 0;
        while (top > 0) {
            const Py_ssize_t t = node[--top];
            const int lev = level[top];
            if (t == q) continue;
            const int64_t *in = open[lev];
            int64_t *below = open[lev + 1], searching = 0;
            const double *lo = T->boxes + 2 * t * dim, *hi = lo + dim;
            for (Py_ssize_t p = 0; p < len; p++) near[p] = 0.0;
            for (Py_ssize_t j = 0; j < dim; j++) {
                const double l = lo[j], h = hi[j], *c = pts + j * len;
                for (Py_ssize_t p = 0; p < len; p++) {
                    double under = l - c[p], over = c[p] - h;
                    double gap = under > over ? under : over;
                    near[p] = gap > near[p] ? gap : near[p];
                }
            }
            for (Py_ssize_t p = 0; p < len; p++) searching += below[p] = in[p] & (near[p] <= bound[p]);
            if (!searching) continue;
            if (t < fl && searching > KNN_ALONE) {
                Py_ssize_t l = 2 * t + 1, r = 2 * t + 2;
                int r_first; /* pushed last, popped first */
                if (T->span[2 * l] <= a && a < T->span[2 * l + 1])
                    r_first = 0;
                else if (T->span[2 * r] <= a && a < T->span[2 * r + 1])
                    r_first = 1;
                else
                    r_first = box_near(T, r, mid) < box_near(T, l, mid);
                node[top] = r_first ? l : r, level[top++] = lev + 1;
                node[top] = r_first ? r : l, level[top++] = lev + 1;
                continue;
            }
            for (Py_ssize_t p = 0; p < len; p++) {
                if (!below[p]) continue;
                double *best = out_d + (a + p) * k;
                int64_t *who = out_i + (a + p) * k;
                for (Py_ssize_t j = 0; j < dim; j++) centre[j] = pts[j * len + p];
                if (t < fl) {
                    tree_knn_search(T, order, a + p, centre, k, best, who, t, near[p], q, &pays);
                    bound[p] = best[k - 1];
                } else
                    bound[p] = offer_leaf(T, order, t, a + p, centre, k, best, who, &pays);
            }
        }
    }
}
VECTOR_COPIES(void, , tree_knn_kernel,
              (const Tree *T, const int64_t *order, Py_ssize_t k, Py_ssize_t first, Py_ssize_t last,
               double *centre, double *out_d, int64_t *out_i),
              (T, order, k, first, last, centre, out_d, out_i))
