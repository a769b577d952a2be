"""The options each measure and each registered estimator declares agree with the signatures of the
functions and classes that take them, and a bad shared setting gets one message wherever it is given."""

from __future__ import annotations

import inspect
import typing
from functools import partial

import numpy as np
import pytest

from iblearn import estimate
from iblearn._settings import SETTINGS, Interval, Options, check_settings
from iblearn.cli import main
from iblearn.estimation.door import MEASURES
from iblearn.estimators import KSG, MixedKSG
from iblearn.estimators.registry import REGISTRY


def _keywords(fn: typing.Any) -> set[str] | None:
    """The options ``fn``'s signature takes beyond its variables: keyword-only ones, the keys of an
    ``Unpack``-ed TypedDict, ``blocks`` and ``condition``; None where it takes a bare ``**``."""
    params = inspect.signature(fn).parameters
    names = {n for n, p in params.items() if p.kind is p.KEYWORD_ONLY} - {"method"}
    names |= {n for n in ("blocks", "condition") if n in params}
    for name, p in params.items():
        if p.kind is p.VAR_KEYWORD:
            hints = typing.get_type_hints(fn.func if isinstance(fn, partial) else fn, include_extras=True)
            if typing.get_origin(hints.get(name)) is not typing.Unpack:
                return None
            names |= set(typing.get_type_hints(typing.get_args(hints[name])[0]))
    return names


@pytest.mark.parametrize("measure", sorted(MEASURES))
def test_each_measure_declares_the_options_its_functions_take(measure):
    spec = MEASURES[measure]
    assert set(spec.auto_options) == _keywords(spec.auto)
    named = None if spec.named_options is None else set(spec.named_options)
    assert named == _keywords(spec.named)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_each_registered_estimator_declares_its_seed_and_labels(name):
    cls = REGISTRY[name]
    params = inspect.signature(cls).parameters
    assert cls.seeded == ("seed" in params)
    # MixedKSG reads labels by what it is, a critic by its y_classes setting.
    assert cls.labels_y == (cls is MixedKSG or "y_classes" in params)


def test_the_table_checks_each_kind_of_constraint():
    check_settings({"k": 3, "seed": -1, "n_resamples": 0, "test": 0.5, "alphabet": None, "unknown": "any"})
    bad = [
        ({"k": 0}, "k: expected a positive integer, got 0"),
        ({"neural_steps": -1}, "neural_steps: expected a non-negative integer, got -1"),
        ({"n_resamples": 1}, "n_resamples: a standard error needs at least 2 resamples"),
        (
            {"n_permutations": 2_000_000},
            "n_permutations: at most 1,000,000 (one estimate each), got 2,000,000",
        ),
        ({"test": 1.0}, "test: the share of rows held out must lie strictly between 0 and 1, got 1.0"),
        ({"base": 1}, "base: the logarithm's base must be positive and not 1, got 1"),
    ]
    for given, message in bad:
        with pytest.raises(ValueError) as err:
            check_settings(given)
        assert str(err.value) == message
    with pytest.raises(ValueError, match=r"^pick: expected one of 'a', 'b', got 'c'$"):
        Options(("a", "b"))("c", "pick")
    with pytest.raises(ValueError, match=r"^share: the number must lie in \[0, 1\], got 2$"):
        Interval(float, 0, 1)(2, "share")


_SAME = [("k", 0, "expected a positive integer, got 0"), ("k", 2.5, "expected a positive integer, got 2.5")]


@pytest.mark.parametrize(("name", "value", "message"), _SAME)
def test_a_bad_setting_reads_the_same_from_door_estimator_and_command(name, value, message, tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 1))
    y = x + rng.normal(size=(100, 1))
    for method in ("auto", "ksg"):
        with pytest.raises(ValueError) as err:
            estimate("mi", x, y, method=method, **{name: value})
        assert str(err.value) == f"{name}: {message}"
    with pytest.raises(ValueError) as err:
        KSG(**{name: value})
    assert str(err.value) == f"{name}: {message}"
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    for method in ("auto", "ksg"):
        argv = [
            "estimate",
            str(tmp_path / "x.npy"),
            str(tmp_path / "y.npy"),
            "--method",
            method,
            "--option",
            f"{name}={value}",
        ]
        assert main(argv) == 2
        assert f"--option {name}: {message}" in capsys.readouterr().err


def test_the_command_reads_its_options_types_and_help_from_the_table():
    from iblearn.cli.estimate_options import _ARGUMENTS

    flags = {flags[0]: settings for flags, settings in _ARGUMENTS}
    for flag, name in (("--k", "k"), ("--lag", "lag"), ("--history", "history"), ("--base", "base")):
        assert flags[flag]["help"] == SETTINGS[name].help
        assert flags[flag]["type"] is SETTINGS[name].type
