"""Each reproduction is a subpackage whose modules import by their own names only: iblearn installs no
import hook, so a module has one name."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

import iblearn.experiments  # noqa: F401  (what would install a hook)

SRC = Path(__file__).resolve().parents[2] / "src" / "iblearn"


def test_iblearn_installs_no_import_hook():
    assert not [f for f in sys.meta_path if type(f).__module__.startswith("iblearn")]
    assert not [p for p in SRC.rglob("*.py") if "sys.meta_path" in p.read_text(encoding="utf-8")]


@pytest.mark.parametrize("flat", ["mole_config", "mi_lr_report", "accuracy", "ib_plane"])
def test_a_module_imports_by_its_package_name_only(flat):
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"iblearn.experiments.{flat}")
