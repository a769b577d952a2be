"""The autoregressive sieve bootstrap's series by the compiled kernel (``_maxnorm.sieve``), for
:func:`iblearn.functional.cmi_surrogates.renewed`, whose numpy path gives the same numbers up to rounding
and runs where the kernel was not built."""

from __future__ import annotations

import numpy as np

from iblearn.functional.knn.neighbors import HAVE_KERNEL

if HAVE_KERNEL:
    from iblearn.functional.knn import _maxnorm


def sieve_series(
    x: np.ndarray, seeds: np.ndarray, c: float, phi: np.ndarray, e: np.ndarray, out: np.ndarray
) -> bool:
    """Writes into ``out`` ``(B, T)`` the series of ``x`` ``(T,)`` by the fit ``(c, phi, e)``, one a seed
    of ``seeds`` ``(B,)`` (uint64): each started at ``q = len(phi)`` consecutive samples of ``x`` and run
    on by the filter, driven by ``c`` plus innovations of ``e`` picked by the seed's SplitMix64 stream.
    False (``out`` untouched) where the kernel was not built or takes no filter of that order."""
    if not HAVE_KERNEL or not 1 <= len(phi) <= _maxnorm.SIEVE_ORDER:
        return False
    x, phi, e = (np.ascontiguousarray(a, dtype=np.float64) for a in (x, phi, e))
    seeds = np.ascontiguousarray(seeds, dtype=np.uint64)
    direct = out.flags.c_contiguous and out.dtype == np.float64
    series = out if direct else np.empty(out.shape)
    _maxnorm.sieve(x, len(x), seeds, len(seeds), float(c), phi, len(phi), e, len(e), series)
    if not direct:
        out[...] = series
    return True
