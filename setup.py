"""The compiled parts of iblearn: optional C kernels for exact max-norm neighbour searches (and the
autoregressive surrogates of network inference beside them) and for the information bottleneck's
self-consistent iteration.

Everything else is in pyproject.toml. Where no C compiler is found the build goes on without them and
iblearn falls back to scipy's k-d tree (`iblearn.functional.knn.neighbors`), exactly as correct but slower,
to the surrogates in numpy (`iblearn.functional.cmi_surrogates.renewed`), the same series, and to the
iteration in numpy (`iblearn.functional.ib.iterate_np`), the same equations.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "iblearn.functional.knn._maxnorm",
            sources=["src/iblearn/functional/knn/_maxnorm.c"],
            depends=[
                "src/iblearn/functional/knn/_maxnorm_tree.h",
                "src/iblearn/functional/knn/_maxnorm_knn.h",
                "src/iblearn/functional/knn/_maxnorm_grid.h",
                "src/iblearn/functional/knn/_maxnorm_plane.h",
                "src/iblearn/functional/knn/_maxnorm_cells.h",
                "src/iblearn/functional/knn/_maxnorm_listed.h",
                "src/iblearn/functional/knn/_maxnorm_listed_body.h",
                "src/iblearn/functional/knn/_maxnorm_scan.h",
                "src/iblearn/functional/knn/_maxnorm_scan_body.h",
                "src/iblearn/functional/knn/_maxnorm_sieve.h",
                "src/iblearn/functional/_simd.h",
            ],
            extra_compile_args=["-O3", "-std=c11"],
            optional=True,
        ),
        Extension(
            "iblearn.functional.ib._iterate",
            sources=["src/iblearn/functional/ib/_iterate.c"],
            depends=["src/iblearn/functional/_simd.h"],
            # no trapping math: a branch-free select (of exp_nonpositive) may be computed on every lane
            # and vectorised; the values are IEEE's all the same (C11 mode contracts no multiply-add)
            extra_compile_args=["-O3", "-std=c11", "-fno-trapping-math"],
            optional=True,
        ),
    ]
)
