/* What the compiled modules (knn/_maxnorm.c, ib/_iterate.c) share: IEEE arithmetic, the forced inline
 * that compiles a helper into each instruction set's copy of a kernel, and the instruction sets, by the
 * names the environment variable IBLEARN_SIMD takes. */
#ifndef IBLEARN_SIMD_H
#define IBLEARN_SIMD_H

#include <string.h>

/* Exactness rests on IEEE comparisons and monotone rounding (NaN compares false, Inf is IEEE's);
 * fast-math breaks both, so such a build fails here. */
#if defined(__FAST_MATH__) || (defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__)
#error "iblearn's kernels must not be compiled with -ffast-math"
#endif

/* The helpers are forced inline so that they are compiled into every copy of a kernel (measured: the
 * k-th neighbour search otherwise stays at SSE2 speed). */
#if defined(__GNUC__)
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE static inline
#endif
#if defined(__GNUC__) && defined(__x86_64__)
#define KERNEL_X86 1
#endif

/* The instruction sets, narrowest first; the names are IBLEARN_SIMD's values. */
enum { ISA_PORTABLE, ISA_AVX2, ISA_AVX512, ISA_COUNT };
static const char *const ISA_NAMES[ISA_COUNT] = {"portable", "avx2", "avx512"};

/* The widest set this CPU (and its OS) runs: AVX2 with POPCNT (which every AVX2 CPU has; the kNN
 * kernels use it), and AVX-512F beside them. */
static inline int widest_isa(void) {
    int isa = ISA_PORTABLE;
#ifdef KERNEL_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt")) isa = ISA_AVX2;
    if (isa == ISA_AVX2 && __builtin_cpu_supports("avx512f")) isa = ISA_AVX512;
#endif
    return isa;
}

/* The set named `name`, capped at the widest the CPU runs, so that a set the CPU lacks falls back and a
 * CI run on a wide CPU can test the narrower paths; -1 for a name of no set. */
static inline int isa_named(const char *name) {
    const int widest = widest_isa();
    for (int isa = 0; isa < ISA_COUNT; isa++)
        if (strcmp(name, ISA_NAMES[isa]) == 0) return isa < widest ? isa : widest;
    return -1;
}

#endif
