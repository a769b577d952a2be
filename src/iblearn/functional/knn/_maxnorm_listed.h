/* listed_many: Frenzel-Pompe's radius and counts of many 1-d candidates x against one fixed (y, z), from
 * the neighbour lists of listed_kernel (_maxnorm.c), a vector's width W of candidates at a time (8 for
 * AVX-512, 4 for AVX2, 2 for the baseline's SSE2; the body, _maxnorm_listed_body.h, once for each): a
 * group's values are laid out point by point (W contiguous doubles a point), so that each listed
 * neighbour is read once for the whole group, and every step runs lane-wise on vectors of W doubles.
 *
 * Per point i and lane: the k smallest joint distances max(|x_i - x_j|, d_yz(i, j)) over the listed
 * (y, z) neighbours j, kept sorted by a compare-exchange chain (lane-wise min and max, the same values
 * as listed_kernel's insertion), for as long as some lane's k-th distance exceeds the listed distance;
 * a lane whose k-th distance is below it gains nothing from the further neighbours, whose joint
 * distances are larger still. n_yz and n_z are the numbers of listed distances below the radius, read
 * in sequence (the lists ascend, so the (y, z) scan's stop passes them all, and the z scan runs to the
 * widest lane's radius); n_xz counts the listed z neighbours j with max(|x_i - x_j|, d_z(i, j)) below
 * the radius, which holds exactly where both do, so the lanes of smaller radius count nothing past
 * theirs. Where some lane's radius passes a bound, the point is measured against all points in every
 * lane (listed_row_all's work lane-wise). The counts are listed_kernel's, to the integer. */

#ifdef KERNEL_X86
#include <immintrin.h>
#endif

typedef Py_ssize_t (*ListedMany)(const double *, Py_ssize_t, const double *, Py_ssize_t, Py_ssize_t, Py_ssize_t,
                                 Py_ssize_t, const int64_t *, const double *, const double *, Py_ssize_t,
                                 const int64_t *, const double *, const double *, Py_ssize_t, double *, int64_t *,
                                 int64_t *, int64_t *);

#ifdef KERNEL_X86
#define ISA avx512
#define ISA_TARGET __attribute__((target("avx512f")))
#define W 8
#define LANE_ANY_LT(a, b) (_mm512_cmp_pd_mask((__m512d)(a), (__m512d)(b), _CMP_LT_OQ) != 0)
#define LANE_MIN(a, b) _mm512_min_pd((__m512d)(a), (__m512d)(b))
#define LANE_MAX(a, b) _mm512_max_pd((__m512d)(a), (__m512d)(b))
#include "_maxnorm_listed_body.h"
#define ISA avx2
#define ISA_TARGET __attribute__((target("avx2")))
#define W 4
#define LANE_ANY_LT(a, b) (_mm256_movemask_pd(_mm256_cmp_pd((__m256d)(a), (__m256d)(b), _CMP_LT_OQ)) != 0)
#define LANE_MIN(a, b) _mm256_min_pd((__m256d)(a), (__m256d)(b))
#define LANE_MAX(a, b) _mm256_max_pd((__m256d)(a), (__m256d)(b))
#include "_maxnorm_listed_body.h"
#endif
#define ISA portable
#define ISA_TARGET
#define W 2
#ifdef KERNEL_X86
#define LANE_ANY_LT(a, b) (_mm_movemask_pd(_mm_cmplt_pd((__m128d)(a), (__m128d)(b))) != 0)
#define LANE_MIN(a, b) _mm_min_pd((__m128d)(a), (__m128d)(b))
#define LANE_MAX(a, b) _mm_max_pd((__m128d)(a), (__m128d)(b))
#endif
#include "_maxnorm_listed_body.h"

/* xs (count, n): the candidates row by row; outputs (count, n) each; the number of points measured
 * against all points (once for a group), over all groups; -1 where the scratch could not be allocated. By the module's
 * instruction set (kernel_isa). */
static Py_ssize_t listed_many_kernel(const double *xs, Py_ssize_t count, const double *pts, Py_ssize_t n,
                                     Py_ssize_t dim, Py_ssize_t ydim, Py_ssize_t k, const int64_t *nbr_yz,
                                     const double *d_yz, const double *bound_yz, Py_ssize_t my, const int64_t *nbr_z,
                                     const double *d_z, const double *bound_z, Py_ssize_t mz, double *eps,
                                     int64_t *nxz, int64_t *nyz, int64_t *nz) {
    ListedMany many = lane_many_portable;
#ifdef KERNEL_X86
    if (kernel_isa >= ISA_AVX512)
        many = lane_many_avx512;
    else if (kernel_isa >= ISA_AVX2)
        many = lane_many_avx2;
#endif
    return many(xs, count, pts, n, dim, ydim, k, nbr_yz, d_yz, bound_yz, my, nbr_z, d_z, bound_z, mz, eps, nxz, nyz,
                nz);
}
