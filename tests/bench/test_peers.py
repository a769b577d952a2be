"""The peer adapters of the benchmarks accept the tasks they can estimate, beside iblearn's own."""

from __future__ import annotations

from benchmarks.runners.peers import peers

from iblearn.data import get_task
from iblearn.experiments.estimators.accuracy import ours


def test_methods_accept_the_tasks_they_can_estimate():
    by_name = {m.name: m for m in ours() + peers()}
    labels, five = get_task("categorical-uniform-5"), get_task("dense-gaussian-5x5")
    assert by_name["iblearn MixedKSG"].accepts(labels) and not by_name["iblearn KSG"].accepts(labels)
    assert by_name["sklearn"].accepts(labels) and not by_name["sklearn"].accepts(five)
    assert by_name["npeet-plus"].accepts(five) and not by_name["bmi KSG"].accepts(labels)
