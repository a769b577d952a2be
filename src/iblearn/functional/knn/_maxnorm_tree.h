/* The k-d tree of _maxnorm.c, included there (one translation unit: the same inlining as when it
 * was one file, and no symbols to export). It uses insert() and the helpers defined before the
 * #include; the k-th neighbour search on the tree is in _maxnorm_knn.h. */

/* ------------------------------------------------------------------------------------ k-d tree
 * For large N (Bentley 1975; Friedman, Bentley, Finkel 1977). The slab search visits every point whose
 * first two coordinates lie within the radius, a share of the sample that shrinks only like the radius
 * itself (N^-1/d), so its cost grows almost as N^2. The tree prunes by a box in every dimension, and a
 * range count adds a node whose box lies wholly inside the ball without visiting its points (as
 * scikit-learn's KDTree.query_radius(count_only=True) does): the work is the ball's surface, not its
 * volume. The points of one query leaf walk the tree together (tree_count_kernel, and tree_knn_kernel
 * in _maxnorm_knn.h).
 *
 * The tree is implicit: node t has children 2t+1 and 2t+2, every leaf lies at depth `depth`, a node's
 * points are the positions [span[2t], span[2t+1]) of the layout (its range halved at each level), split
 * at the median of the coordinate that spreads most in the node. boxes[t] holds the node's tight box,
 * d minima then d maxima. Box tests are exact like the slab runs: rounding is monotone, so for any
 * point of the box fl(|x - c|) lies between the box's nearest and farthest fl(|edge - c|) in each
 * dimension.
 *
 *   build(points, n, dim, depth, out_order, out_span, out_boxes, out_data): points row-major in the
 *       caller's order; position p of the layout is point out_order[p]; out_data (n * dim) holds the
 *       leaves one after the other, each leaf's points column by column. Leaves hold at most LEAF_MAX
 *       points.
 *   knn and count as above, given the layout tuple (data, n, dim, depth, span, boxes): for the points at
 *       the tree's layout positions first..last-1. knn also takes (data, n, dim, depth, span, boxes,
 *       data32, leaf_max): data rounded to float32 and each leaf's largest |coordinate| (2^depth
 *       float64), for its float32 first pass (_maxnorm_knn.h); the same answers.
 */
/* The most points a leaf holds: the query leaf's masks and distances are arrays of this size. */
#define LEAF_MAX 256

typedef struct {
    const double *data, *boxes; /* data: leaf after leaf, each leaf's points column by column */
    const float *data32;        /* data rounded to float32, or NULL (leaf_beyond, in _maxnorm_knn.h) */
    const double *leaf_max;     /* with data32: each leaf's largest |coordinate| */
    const int64_t *span;
    Py_ssize_t n, dim, first_leaf;
} Tree;

/* Points of leaf t within r of c (<= if inclusive): block_distances' numbers, started from the first
 * dimension (not from zeros) and compared with r in the last dimension's pass as it goes (no store of
 * the distances and no second pass over them): 1.07x the count at N = 100,000, 1.13x at 1,000,000, 5x5
 * KSG (A/B in one process, thread CPU time). A leaf's coordinates are one contiguous piece of
 * memory: at N = 1,000,000 in 10 dimensions a query reads about 6,000 points of 200 leaves, and with
 * the columns of the whole sample apart (80 MB) every leaf cost 10 cache misses; blocked by leaf, it
 * took 434 against 706 us a point (the same points visited; one after the other on the loaded machine,
 * so roughly). Tried and slower: deciding the points a dimension at a time and leaving the leaf once
 * none is within r (0.85x: at N = 1,000,000, 81% of the leaves a count reads hold a point of the ball,
 * though only 15% of their points are), and leaving out the dimensions in which the leaf's box lies
 * wholly within r of c (0.92x). */
ALWAYS_INLINE int64_t leaf_count(const Tree *T, Py_ssize_t t, const double *c, double r, int inclusive) {
    const Py_ssize_t lo = T->span[2 * t], len = T->span[2 * t + 1] - lo, last = T->dim - 1;
    const double *data = T->data + lo * T->dim, *col = data + last * len, v = c[last];
    double dist[LEAF_MAX];
    int64_t m = 0;
    for (Py_ssize_t s = 0; s < len; s++) dist[s] = fabs(data[s] - c[0]); /* again below if dim is 1 */
    for (Py_ssize_t j = 1; j < last; j++) {
        const double *cj = data + j * len, w = c[j];
        for (Py_ssize_t s = 0; s < len; s++) {
            double a = fabs(cj[s] - w);
            dist[s] = a > dist[s] ? a : dist[s];
        }
    }
    if (inclusive)
        for (Py_ssize_t s = 0; s < len; s++) {
            double a = fabs(col[s] - v);
            m += (a > dist[s] ? a : dist[s]) <= r;
        }
    else
        for (Py_ssize_t s = 0; s < len; s++) {
            double a = fabs(col[s] - v);
            m += (a > dist[s] ? a : dist[s]) < r;
        }
    return m;
}

/* Smallest and largest max-norm distance from c to the points of node t's box. */
ALWAYS_INLINE void box_range(const Tree *T, Py_ssize_t t, const double *c, double *near, double *far) {
    const double *lo = T->boxes + 2 * t * T->dim, *hi = lo + T->dim;
    double a = 0.0, b = 0.0;
    for (Py_ssize_t j = 0; j < T->dim; j++) {
        double below = lo[j] - c[j], above = c[j] - hi[j]; /* > 0 where c lies outside the box */
        double gap = below > above ? below : above;
        a = gap > a ? gap : a;
        double l = fabs(lo[j] - c[j]), h = fabs(hi[j] - c[j]);
        double wide = l > h ? l : h;
        b = wide > b ? wide : b;
    }
    *near = a;
    *far = b;
}

ALWAYS_INLINE double box_near(const Tree *T, Py_ssize_t t, const double *c) {
    const double *lo = T->boxes + 2 * t * T->dim, *hi = lo + T->dim;
    double a = 0.0;
    for (Py_ssize_t j = 0; j < T->dim; j++) {
        double below = lo[j] - c[j], above = c[j] - hi[j];
        double gap = below > above ? below : above;
        a = gap > a ? gap : a;
    }
    return a;
}

/* Points of node `root`'s subtree within r of c (<= if inclusive). */
ALWAYS_INLINE int64_t tree_count_search(const Tree *T, const double *c, double r, int inclusive, Py_ssize_t root) {
    Py_ssize_t node[2 * 64];
    int top = 1;
    int64_t m = 0;
    node[0] = root;
    while (top > 0) {
        Py_ssize_t t = node[--top];
        double near, far;
        box_range(T, t, c, &near, &far);
        if (inclusive ? near > r : near >= r) continue;
        if (inclusive ? far <= r : far < r) {
            m += T->span[2 * t + 1] - T->span[2 * t];
            continue;
        }
        if (t < T->first_leaf) {
            node[top++] = 2 * t + 2;
            node[top++] = 2 * t + 1;
            continue;
        }
        m += leaf_count(T, t, c, r, inclusive);
    }
    return m;
}

/* Range counts a query leaf at a time. A point's own search (tree_count_search) tests one box
 * per node it visits, about 720 nodes and 196 leaves a point at N = 1,000,000 in 5 dimensions, and the
 * points of one leaf visit mostly the same nodes. So they walk the tree together: at each node all of
 * them are tested against its box in one loop that the compiler vectorises (the same near and far as
 * box_range, point by point), the points whose test decides (the node lies beyond the point's radius,
 * or wholly within it and is counted) are masked off below it, and the node is entered while any point
 * is undecided; once at most PACKET_ALONE are, each goes on by its own search. Every point gets the
 * decisions of its own search (the same comparisons), hence its counts. Against the point-by-point search, counts of 5x5 KSG
 * radii, one thread, interleaved in one process (loaded cores): see _neighbors.COUNT_LEAF.
 * Tried and dropped: a dual-tree count (Gray & Moore 2001), a query node's box against a reference
 * node's with the node's least and greatest radius. A query leaf's box is as wide as the balls
 * (N = 100,000: longest side 1.30, median radius 0.56) and its radii spread 1.9x, so the box pairs
 * decide little: 0.69x the point-by-point search at N = 100,000 when recursing to leaf pairs, 0.87 -
 * 0.98x when each query point goes on alone below its leaf. */
#define PACKET_ALONE 8

ALWAYS_INLINE void tree_count_kernel_body(const Tree *T, const double *radius, int inclusive, Py_ssize_t first,
                                          Py_ssize_t last, double *centre, int64_t *out) {
    const Py_ssize_t dim = T->dim, fl = T->first_leaf;
    /* open[l]: the points still undecided at the node being entered at level l (depth <= 40, tree_ok) */
    int64_t open[42][LEAF_MAX], got[LEAF_MAX];
    double near[LEAF_MAX], far[LEAF_MAX], r[LEAF_MAX];
    for (Py_ssize_t q = fl; q < 2 * fl + 1; q++) {
        const Py_ssize_t a = T->span[2 * q], len = T->span[2 * q + 1] - a;
        if (a + len <= first || a >= last) continue;
        const double *pts = T->data + a * dim; /* the leaf's points, column by column */
        for (Py_ssize_t p = 0; p < len; p++) {
            open[0][p] = a + p >= first && a + p < last;
            got[p] = 0;
            r[p] = radius[a + p];
        }
        Py_ssize_t node[2 * 64];
        int level[2 * 64], top = 1;
        node[0] = 0, level[0] = 0;
        while (top > 0) {
            const Py_ssize_t t = node[--top];
            const int lev = level[top];
            const int64_t *in = open[lev], size = T->span[2 * t + 1] - T->span[2 * t];
            int64_t *below = open[lev + 1], undecided = 0;
            const double *lo = T->boxes + 2 * t * dim, *hi = lo + dim;
            for (Py_ssize_t p = 0; p < len; p++) near[p] = 0.0, far[p] = 0.0;
            for (Py_ssize_t j = 0; j < dim; j++) {
                const double l = lo[j], h = hi[j], *c = pts + j * len;
                for (Py_ssize_t p = 0; p < len; p++) {
                    double under = l - c[p], over = c[p] - h;
                    double gap = under > over ? under : over;
                    near[p] = gap > near[p] ? gap : near[p];
                    double u = fabs(l - c[p]), v = fabs(h - c[p]);
                    double wide = u > v ? u : v;
                    far[p] = wide > far[p] ? wide : far[p];
                }
            }
            if (inclusive)
                for (Py_ssize_t p = 0; p < len; p++) {
                    int64_t reach = in[p] & !(near[p] > r[p]), all = far[p] <= r[p];
                    got[p] += (reach & all) * size;
                    undecided += below[p] = reach & !all;
                }
            else
                for (Py_ssize_t p = 0; p < len; p++) {
                    int64_t reach = in[p] & !(near[p] >= r[p]), all = far[p] < r[p];
                    got[p] += (reach & all) * size;
                    undecided += below[p] = reach & !all;
                }
            if (!undecided) continue;
            if (t < fl && undecided > PACKET_ALONE) {
                node[top] = 2 * t + 2, level[top++] = lev + 1;
                node[top] = 2 * t + 1, level[top++] = lev + 1;
                continue;
            }
            for (Py_ssize_t p = 0; p < len; p++) {
                if (!below[p]) continue;
                for (Py_ssize_t j = 0; j < dim; j++) centre[j] = pts[j * len + p];
                if (t < fl) {
                    got[p] += tree_count_search(T, centre, r[p], inclusive, t);
                    continue;
                }
                got[p] += leaf_count(T, t, centre, r[p], inclusive);
            }
        }
        for (Py_ssize_t p = 0; p < len; p++)
            if (open[0][p]) out[a + p] = got[p] - (inclusive || r[p] > 0); /* the point itself */
    }
}
VECTOR_COPIES(void, , tree_count_kernel,
              (const Tree *T, const double *radius, int inclusive, Py_ssize_t first, Py_ssize_t last,
               double *centre, int64_t *out),
              (T, radius, inclusive, first, last, centre, out))

/* Quickselect (Hoare's FIND) on key[idx[.]]: afterwards idx[lo..m) have keys <= key[idx[m]] <= idx(m..hi). */
static void select_median(int64_t *idx, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t m, const double *pts,
                          Py_ssize_t dim, Py_ssize_t j) {
    hi--;
    while (lo < hi) {
        double pivot = pts[idx[m] * dim + j];
        Py_ssize_t a = lo, b = hi;
        while (a <= b) {
            while (pts[idx[a] * dim + j] < pivot) a++;
            while (pts[idx[b] * dim + j] > pivot) b--;
            if (a <= b) {
                int64_t u = idx[a];
                idx[a++] = idx[b];
                idx[b--] = u;
            }
        }
        if (m <= b)
            hi = b;
        else if (m >= a)
            lo = a;
        else
            return;
    }
}

/* Node t over idx[lo..hi): its tight box, then its children split at the middle position. */
static void build_node(const double *pts, Py_ssize_t dim, Py_ssize_t first_leaf, Py_ssize_t t, Py_ssize_t lo,
                       Py_ssize_t hi, int64_t *idx, int64_t *span, double *boxes, double *data) {
    double *bl = boxes + 2 * t * dim, *bh = bl + dim;
    span[2 * t] = lo;
    span[2 * t + 1] = hi;
    for (Py_ssize_t j = 0; j < dim; j++) {
        bl[j] = INFINITY;
        bh[j] = -INFINITY;
    }
    for (Py_ssize_t p = lo; p < hi; p++)
        for (Py_ssize_t j = 0; j < dim; j++) {
            double v = pts[idx[p] * dim + j];
            bl[j] = v < bl[j] ? v : bl[j];
            bh[j] = v > bh[j] ? v : bh[j];
        }
    if (t >= first_leaf) {
        double *leaf = data + lo * dim;
        for (Py_ssize_t j = 0; j < dim; j++)
            for (Py_ssize_t p = lo; p < hi; p++) leaf[j * (hi - lo) + (p - lo)] = pts[idx[p] * dim + j];
        return;
    }
    Py_ssize_t split = 0;
    for (Py_ssize_t j = 1; j < dim; j++) /* halves: the spread must not overflow at 1e308 */
        if (bh[j] / 2 - bl[j] / 2 > bh[split] / 2 - bl[split] / 2) split = j;
    Py_ssize_t mid = lo + (hi - lo) / 2;
    if (hi - lo > 1) select_median(idx, lo, hi, mid, pts, dim, split);
    build_node(pts, dim, first_leaf, 2 * t + 1, lo, mid, idx, span, boxes, data);
    build_node(pts, dim, first_leaf, 2 * t + 2, mid, hi, idx, span, boxes, data);
}
