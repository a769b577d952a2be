"""The options each measure and each registered estimator declares agree with the signatures of the
functions and classes that take them, and a bad shared setting gets one message wherever it is given."""

from __future__ import annotations

import inspect
import typing
from functools import partial

import numpy as np
import pytest

from iblearn import estimate
from iblearn import functional as ibf
from iblearn._settings import LEVEL, SETTINGS, Interval, Options, check_settings
from iblearn.cli import main
from iblearn.estimation.door import MEASURES
from iblearn.estimators import KSG, GaussianClasses, MixedKSG, QuadraticClasses
from iblearn.estimators.registry import REGISTRY
from iblearn.network import active_information_storage, infer_network


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
    # The classes' estimators read labels by what they are, a critic by its y_classes setting.
    assert cls.labels_y == (cls in (MixedKSG, GaussianClasses, QuadraticClasses) or "y_classes" in params)


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


# (setting, a bad value, its option in the command, the message after the name)
_SAME = [
    ("k", 0, "--k", "expected a positive integer, got 0"),
    ("k", 2.5, None, "expected a positive integer, got 2.5"),
    ("seed", 2**70, "--seed", "must lie in [-2^63, 2^64), got 1180591620717411303424"),
    ("n_resamples", 1, "--resamples", "a standard error needs at least 2 resamples"),
]


@pytest.mark.parametrize(("name", "value", "flag", "message"), _SAME)
def test_a_bad_setting_reads_the_same_from_door_estimator_and_command(
    name, value, flag, message, tmp_path, capsys
):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 1))
    y = x + rng.normal(size=(100, 1))
    calls = [lambda: estimate("mi", x, y, method="ksg", **{name: value})]
    if name in MEASURES["mi"].auto_options:
        calls.append(lambda: estimate("mi", x, y, **{name: value}))
    # A setting of the estimator's, or of its call.
    calls.append(lambda: KSG(**{name: value}) if name != "n_resamples" else KSG()(x, y, n_resamples=value))
    for call in calls:
        with pytest.raises(ValueError) as err:
            call()
        assert str(err.value) == f"{name}: {message}"
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    files = ["estimate", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--method", "ksg"]
    # A setting with an option of its own is given by it; any other by --option.
    given = [([flag, str(value)], flag)] if flag else []
    given += [(["--option", f"{name}={value}"], f"--option {name}")] if name == "k" else []
    for argv, shown in given:
        assert main([*files, *argv]) == 2
        assert f"{shown}: {message}" in " ".join(capsys.readouterr().err.split())


def test_an_option_of_a_setting_with_a_flag_of_its_own_is_refused(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(200, 1)))
    argv = ["estimate", str(tmp_path / "x.npy"), str(tmp_path / "x.npy"), "--option", "n_resamples=50"]
    assert main(argv) == 2
    assert "--option: n_resamples is set by --resamples; give it there" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--lag", "--history"])
def test_a_series_option_of_zero_is_refused_naming_it(flag, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(200, 1)))
    argv = ["estimate", str(tmp_path / "x.npy"), str(tmp_path / "x.npy"), "--measure", "te", flag, "0"]
    assert main(argv) == 2
    assert f"{flag}: expected a positive integer, got 0" in capsys.readouterr().err


def test_the_command_reads_its_options_types_and_help_from_the_table():
    from iblearn.cli.estimate_options import _ARGUMENTS

    flags = {flags[0]: settings for flags, settings in _ARGUMENTS}
    for flag, name in (("--k", "k"), ("--lag", "lag"), ("--history", "history"), ("--base", "base")):
        assert flags[flag]["help"] == SETTINGS[name].help
        assert flags[flag]["type"] is SETTINGS[name].type


@pytest.mark.parametrize("value", [0.0, 1.0, float("nan"), True, "0.05"])
def test_a_significance_level_reads_the_same_in_infer_network_and_pairwise_mi(value):
    data = np.random.default_rng(0).standard_normal((100, 3))
    with pytest.raises(ValueError) as by_network:
        infer_network(data, alpha=value)
    with pytest.raises(ValueError) as by_pairs:
        ibf.pairwise_mi(data, fdr=value)
    assert str(by_network.value).startswith("alpha: ")
    assert str(by_network.value).removeprefix("alpha: ") == str(by_pairs.value).removeprefix("fdr: ")


def test_a_level_inside_the_interval_passes_and_alpha_stays_the_renyi_order_at_the_door():
    assert LEVEL(np.float32(0.05), "alpha") == np.float32(0.05)
    assert "alpha" not in SETTINGS  # the Renyi order is any positive number, not a level
    x = np.random.default_rng(0).standard_normal((60, 1))
    assert np.isfinite(float(estimate("mi", x, x + 0.5, method="renyi", alpha=2.0)))


@pytest.mark.parametrize(
    "call",
    [
        lambda x, y: ibf.transfer_entropy(x, y, seed=True),
        lambda x, y: active_information_storage(x, seed=True),
        lambda x, y: ibf.ksg_mi(x, y, seed=True),
    ],
)
def test_a_function_refuses_a_bad_seed_with_the_tables_message(call):
    x, y = np.random.default_rng(0).standard_normal((2, 200))
    with pytest.raises(ValueError, match=r"^seed: expected an integer seed, got True$"):
        call(x, y)
