"""The fused Triton kernels compile for NVIDIA's architectures without a GPU at hand: Triton lowers them
to PTX and its bundled ptxas assembles the cubin, which catches what the interpreter cannot (the types
of values carried through loops, constexpr arguments, register allocation). Runs where Triton is
installed and not interpreted; skips elsewhere (CI installs no Triton).
"""

from __future__ import annotations

from typing import Any

import pytest

from iblearn.functional.knn import fused, fused_cmi, fused_sorted
from tests.functional.knn.test_pairwise_fused import INTERPRETED

pytestmark = pytest.mark.skipif(not fused.HAVE_TRITON or INTERPRETED, reason="needs triton, compiled")

FP64, I64, I32 = "*fp64", "*i64", "i32"
BRUTE = {"xt": FP64, "yt": FP64, "index": I64, "nx": I64, "ny": I64, "n": I32}
SORTED = {
    "values": FP64, "sorted_": FP64, "order": I64, "place": I64, "index": I64, "nx": I64, "ny": I64,
    "n": I32, "steps": I32,
}  # fmt: skip
CMI = {"xt": FP64, "yt": FP64, "zt": FP64, "nxz": I64, "nyz": I64, "nz": I64, "n": I32}


def _compiled(kernel: Any, signature: dict[str, str], constants: dict[str, Any], arch: int) -> Any:
    import triton  # type: ignore[import-untyped,import-not-found,unused-ignore]
    from triton.backends.compiler import GPUTarget  # type: ignore[import-untyped,import-not-found,unused-ignore]
    from triton.compiler import ASTSource  # type: ignore[import-untyped,import-not-found,unused-ignore]

    source = ASTSource(
        fn=kernel, signature={**signature, **dict.fromkeys(constants, "constexpr")}, constexprs=constants
    )
    return triton.compile(source, target=GPUTarget("cuda", arch, 32), options={"num_warps": fused.NUM_WARPS})


@pytest.mark.parametrize("arch", [80, 90])
@pytest.mark.parametrize(
    "name",
    ["brute", "brute, one x, 5 + 5 dimensions", "sorted", "cmi", "cmi, 4 columns of z"],
)
def test_the_fused_kernels_compile_to_a_cubin(name, arch):
    blocks = {"BM": fused.BLOCK_ROWS, "BN": fused.BLOCK_COLS}
    slots = {"K1": 4, "KP": 4}
    kernel, signature, constants = {
        "brute": (fused._ksg_counts_kernel, BRUTE, {**slots, "DX": 1, "DY": 1, **blocks, "ONE_X": False}),
        "brute, one x, 5 + 5 dimensions": (
            fused._ksg_counts_kernel, BRUTE, {**slots, "DX": 5, "DY": 5, **blocks, "ONE_X": True},
        ),
        "sorted": (
            fused_sorted._sorted_counts_kernel, SORTED,
            {**slots, "BM": fused_sorted.BLOCK_ROWS, "BN": fused_sorted.BLOCK_COLS},
        ),
        "cmi": (fused_cmi._cmi_counts_kernel, CMI, {**slots, "DX": 1, "DY": 1, "DZ": 1, **blocks}),
        "cmi, 4 columns of z": (
            fused_cmi._cmi_counts_kernel, CMI, {**slots, "DX": 1, "DY": 1, "DZ": 4, **blocks},
        ),
    }[name]  # fmt: skip
    compiled = _compiled(kernel, signature, constants, arch)
    assert compiled.asm["cubin"] and compiled.metadata.name == kernel.fn.__name__
