"""The instruction sets the benchmarks time and check under (benchmarks/runners/script.py): every set the
CPU runs, narrowest first, whatever this process's IBLEARN_SIMD; a child under a set runs that set; and
pairwise_scale's table gives each set its row and verdict."""

from __future__ import annotations

import pytest
from benchmarks.runners import script

from iblearn.functional.knn import kernel_isa


@pytest.fixture(scope="module")
def sets() -> list[str]:
    """The sets listed by a process capped to portable (each listing starts a child that imports iblearn:
    one for the module)."""
    with pytest.MonkeyPatch.context() as m:
        m.setenv("IBLEARN_SIMD", "portable")
        return script.isa_sets()


def test_the_sets_run_up_to_the_widest_whatever_this_process_asked(sets):
    # a parent capped to portable still lists them all
    if kernel_isa() is None:
        assert sets == []
        return
    assert sets == list(script.ISA_SETS[: len(sets)]) and kernel_isa() in sets


def test_a_child_runs_the_set_it_is_given(sets):
    if not sets:
        pytest.skip("the compiled kernel was not built")
    ask = "from iblearn.functional.knn import kernel_isa; print(kernel_isa())"
    narrowest = sets[0]  # one child, a set other than this CPU's default wherever there are two
    assert script.under_isa(narrowest, ["-c", ask]).stdout.strip() == narrowest


def test_the_table_gives_each_set_its_row_and_verdict():
    from pairwise_scale import per_pair_table

    rows = [
        {"isa": isa, "dense_ms_per_pair": dense, "streamed_ms_per_pair": 0.02, "top_k_equals_dense": True}
        | {"columns": 600, "repeats": 5, "cpu": "a CPU"}
        for isa, dense in (("portable", 0.06), ("avx2", 0.024))
    ]
    lines = per_pair_table(rows, 0.025).splitlines()[2:]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    assert [(c[0], c[3]) for c in cells] == [("portable", "not met"), ("avx2", "met")]
