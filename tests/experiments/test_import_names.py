"""Each reproduction is a subpackage; its modules also import by their flat names
(``iblearn.experiments.MOVED``), as the same module objects."""

from __future__ import annotations

import importlib

import pytest

from iblearn import experiments


@pytest.mark.parametrize("flat", sorted(experiments.MOVED))
def test_a_flat_name_imports_as_the_module_it_names(flat):
    module = importlib.import_module(f"iblearn.experiments.{flat}")
    assert module is importlib.import_module(f"iblearn.experiments.{experiments.MOVED[flat]}")
    assert module.__spec__.name == module.__name__ == f"iblearn.experiments.{experiments.MOVED[flat]}"


def test_a_name_that_never_was_is_still_an_import_error():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("iblearn.experiments.proximal_nothing")
