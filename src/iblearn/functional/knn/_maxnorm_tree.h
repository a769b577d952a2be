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
 *       the tree's layout positions first..last-1. Both also take (data, n, dim, depth, span, boxes,
 *       data32, leaf_max): data rounded to float32 and each leaf's largest |coordinate| (2^depth
 *       float64), for their float32 first passes (offer_leaf in _maxnorm_knn.h, leaf_count32 below);
 *       the same answers.
 */
/* The most points a leaf holds: the query leaf's masks and distances are arrays of this size. */
#define LEAF_MAX 256

typedef struct {
    const double *data, *boxes; /* data: leaf after leaf, each leaf's points column by column */
    const float *data32;        /* data rounded to float32, or NULL (float32_bound, float32_band) */
    const double *leaf_max;     /* with data32: each leaf's largest |coordinate| */
    const int64_t *span;
    Py_ssize_t n, dim, first_leaf;
} Tree;

/* Whether the float32 first passes pay for the points of one query leaf. A pass is wasted where its
 * float32 distances leave so many of the leaf's points undecided that the float64 pass over the whole
 * leaf follows it (more than a FLOAT32_FEW-th of them in the k-th neighbour search, a
 * FLOAT32_FEW_COUNT-th in a count, whose undecided points lie in a band on both sides of the radius):
 * ties at the k-th distance or at the radius do that, as on a lattice or on integer data jittered by
 * less than float32 resolves, and there the float32 pass only adds its own time. Once at least
 * FLOAT32_TRIAL passes were made and more than half were wasted, the query leaf's other searches take
 * the float64 pass alone. Either pass gives the same answers. */
#define FLOAT32_FEW 8
#define FLOAT32_FEW_COUNT 32
#define FLOAT32_TRIAL 16
typedef struct {
    int64_t tried, wasted;
} Float32Use;

ALWAYS_INLINE int float32_pays(const Float32Use *u) { return u->tried < FLOAT32_TRIAL || 2 * u->wasted <= u->tried; }

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
ALWAYS_INLINE int64_t leaf_count64(const Tree *T, Py_ssize_t t, const double *c, double r, int inclusive) {
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

/* The float32 first pass of leaf_count32 for a query c, whose largest |coordinate| is cmax, at radius
 * r: band[0] = lo and band[1] = hi such that a point whose float32 distance from c lies below lo is
 * within r of c in float64, and one whose float32 distance lies above hi is beyond r; 0 where c or r
 * leave float32's range (beyond 1e30), for the float64 count. By float32_bound's derivation
 * (_maxnorm_knn.h), in each dimension j the float32 distance F_j of a point a and its float64 one D_j
 * differ by less than 2^-22 (|a_j| + |c_j|) + 2^-140, and |a_j| <= cmax + D_j (1 + 2^-52): by less
 * than e(D_j) = 2^-22 (2 cmax + D_j (1 + 2^-52)) + 2^-140, which grows with D_j, and D - e(D) and
 * D + e(D) too. So with D and F the maxima over j, F lies between D - e(D) and D + e(D), for every
 * point, near c or far from it: F < r - e(r) gives D < r, and F > r + e(r) gives D > r. e(r) is taken
 * larger, 2^-21 (1 + 2^-50) (cmax + r) + 2^-139, which its three float64 roundings (each at most 2^-53
 * relative: the sum is at least 2^-139, a normal float64) leave above it; r + e and r - e are widened
 * by 2^-21 relative and 2^-148 absolute, which covers their float64 roundings and the float32 one
 * (2^-24 relative, or 2^-150 absolute among float32's subnormals); r - e <= 0 gives lo <= 0, below
 * which no distance lies. */
ALWAYS_INLINE int float32_band(double cmax, double r, float *band) {
    if (!(cmax <= 1e30 && r <= 1e30)) return 0;
    const double e = 0x1p-21 * (1 + 0x1p-50) * (cmax + r) + 0x1p-139;
    band[0] = (float)((r - e) * (1 - 0x1p-21) - 0x1p-148);
    band[1] = (float)((r + e) * (1 + 0x1p-21) + 0x1p-148);
    return 1;
}

/* Points of leaf t within r of c (<= if inclusive), from the float32 copy, given float32_band's band
 * [lo, hi] for c and r: the float32 distances (leaf_count64's loops, twice the lanes) count the points
 * below lo, and only the points within the band, rare but for ties (KSG's radii are distances between
 * points, so a point lies at exactly r) get their float64 distance and the exact comparison: the count
 * is leaf_count64's. Measured slower: a band per query and leaf (float64 arithmetic at every leaf, and
 * slower still rounded by nextafterf, a library call), and loops that stop at the leaf's length with
 * scalar tails instead of running whole vectors; the gains are in docs/design.md, "Measurements behind
 * the code". */
ALWAYS_INLINE int64_t leaf_count32(const Tree *T, Py_ssize_t t, const double *c, double r, int inclusive,
                                   const float *band, Float32Use *u) {
    const float lo = band[0], hi = band[1];
    const Py_ssize_t first = T->span[2 * t], len = T->span[2 * t + 1] - first, last = T->dim - 1;
    const float *data = T->data32 + first * T->dim, *col = data + last * len, v = (float)c[last], v0 = (float)c[0];
    /* whole vectors of 8 where the columns' ends may be read past (not at the end of the data): those
     * lanes' distances are made infinite before the last dimension, so they count nowhere */
    const Py_ssize_t up = (len + 7) & ~(Py_ssize_t)7,
                     wide = (first + len) * T->dim + (up - len) <= T->n * T->dim ? up : len;
    float dist[LEAF_MAX];
    int32_t in = 0, near = 0;
    for (Py_ssize_t s = 0; s < wide; s++) dist[s] = fabsf(data[s] - v0); /* again below if dim is 1 */
    for (Py_ssize_t j = 1; j < last; j++) {
        const float *cj = data + j * len, w = (float)c[j];
        for (Py_ssize_t s = 0; s < wide; s++) {
            float a = fabsf(cj[s] - w);
            dist[s] = a > dist[s] ? a : dist[s];
        }
    }
    for (Py_ssize_t s = len; s < wide; s++) dist[s] = INFINITY;
    for (Py_ssize_t s = 0; s < wide; s++) {
        float a = fabsf(col[s] - v), d = a > dist[s] ? a : dist[s];
        dist[s] = d;
        in += d < lo;
        near += d <= hi;
    }
    int64_t m = in;
    if (near == in) return m;
    if ((int64_t)(near - in) * FLOAT32_FEW_COUNT > len) { /* many ties at r: the float64 pass, wasted */
        u->wasted++;
        return leaf_count64(T, t, c, r, inclusive);
    }
    const double *data64 = T->data + first * T->dim;
    for (Py_ssize_t s = len; s < LEAF_MAX && (s & 15); s++) dist[s] = -INFINITY; /* below lo */
    for (Py_ssize_t s = 0; s < len; s++) {
        if (!(s & 15)) { /* skip 16 points at a time that hold none of the band */
            int32_t any = 0;
            for (Py_ssize_t w = s; w < s + 16; w++) any |= (dist[w] >= lo) & (dist[w] <= hi);
            if (!any) {
                s += 15;
                continue;
            }
        }
        if (dist[s] < lo || dist[s] > hi) continue;
        double d = 0.0;
        for (Py_ssize_t j = 0; j < T->dim; j++) {
            double a = fabs(data64[j * len + s] - c[j]);
            d = a > d ? a : d;
        }
        m += inclusive ? d <= r : d < r;
    }
    return m;
}

/* Points of leaf t within r of c (<= if inclusive): leaf_count32's given float32_band's band for c and
 * r (NULL if none), a leaf within float32's range and float32 passes that pay (u), else leaf_count64's;
 * the same count. */
ALWAYS_INLINE int64_t leaf_count(const Tree *T, Py_ssize_t t, const double *c, double r, int inclusive,
                                 const float *band, Float32Use *u) {
    if (band && T->leaf_max[t - T->first_leaf] <= 1e30 && float32_pays(u)) {
        u->tried++;
        return leaf_count32(T, t, c, r, inclusive, band, u);
    }
    return leaf_count64(T, t, c, r, inclusive);
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
ALWAYS_INLINE int64_t tree_count_search(const Tree *T, const double *c, double r, int inclusive, Py_ssize_t root,
                                        const float *band, Float32Use *u) {
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
        m += leaf_count(T, t, c, r, inclusive, band, u);
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
    float band[2];
    for (Py_ssize_t q = fl; q < 2 * fl + 1; q++) {
        const Py_ssize_t a = T->span[2 * q], len = T->span[2 * q + 1] - a;
        if (a + len <= first || a >= last) continue;
        const double *pts = T->data + a * dim; /* the leaf's points, column by column */
        Float32Use pays = {0, 0};
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
                double cmax = 0.0;
                for (Py_ssize_t j = 0; j < dim; j++) {
                    centre[j] = pts[j * len + p];
                    cmax = fabs(centre[j]) > cmax ? fabs(centre[j]) : cmax;
                }
                const float *use = T->data32 && float32_band(cmax, r[p], band) ? band : NULL;
                if (t < fl) {
                    got[p] += tree_count_search(T, centre, r[p], inclusive, t, use, &pays);
                    continue;
                }
                got[p] += leaf_count(T, t, centre, r[p], inclusive, use, &pays);
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
