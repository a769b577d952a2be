"""An estimate carries the names of its variables where the input had them (a pandas Series' name or a
DataFrame's columns, a Polars column, a DataArray's name or channels), prints its quantity with them,
and keeps its repr and JSON record otherwise as they are; the value is that of the bare arrays."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from iblearn import estimate
from iblearn.functional import Estimate
from iblearn.functional.result import Report

torch.set_num_threads(1)


def _pair(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r = np.random.default_rng(seed)
    x = r.normal(size=n)
    return x, x + r.normal(size=n)


def _ksg(*variables, measure: str = "mi"):
    return estimate(measure, *variables, method="ksg", n_resamples=0)


def test_pandas_names_ride_with_the_estimate_and_its_value_is_the_bare_arrays():
    pd = pytest.importorskip("pandas")
    x, y = _pair()
    named = _ksg(pd.Series(x, name="height"), pd.DataFrame({"weight": y}))
    bare = _ksg(x, y)
    assert float(named) == float(bare)
    assert named.names == {"x": ("height",), "y": ("weight",)} and bare.names is None
    assert str(named).startswith("I(height; weight) = ")
    assert named.describe().splitlines()[0].startswith("I(height; weight) = ")
    assert repr(named) == repr(bare)  # the repr stays one line of the number


def test_a_variable_without_names_shows_its_letter():
    pd = pytest.importorskip("pandas")
    x, y = _pair()
    est = _ksg(x, pd.Series(y, name="weight"))
    assert est.names == {"y": ("weight",)}
    assert str(est).startswith("I(X; weight) = ")
    cond = estimate("cmi", x, y, pd.Series(x + y, name="sum"), method="ksg")
    assert str(cond).startswith("I(X; Y | sum) = ")


def test_polars_and_xarray_names_are_kept():
    pl = pytest.importorskip("polars")
    pytest.importorskip("narwhals")
    xr = pytest.importorskip("xarray")
    x, y = _pair()
    both = np.c_[x, y]
    frame = pl.DataFrame({"a": x, "b": y})
    array = xr.DataArray(both, dims=("time", "channel"), coords={"channel": ["Fz", "Cz"]})
    est = _ksg(frame, xr.DataArray(y, dims=("time",), name="lfp"))
    assert est.names == {"x": ("a", "b"), "y": ("lfp",)}
    assert float(est) == float(_ksg(both, y))
    many = estimate("total_correlation", array, method="gaussian")
    assert many.names == {"data": ("Fz", "Cz")}
    assert str(many).startswith("total_correlation(Fz, Cz) = ")


def test_many_columns_are_shown_three_and_a_count():
    pd = pytest.importorskip("pandas")
    r = np.random.default_rng(1)
    frame = pd.DataFrame(r.normal(size=(300, 5)), columns=list("abcde"))
    est = _ksg(frame, pd.Series(frame["a"] + r.normal(size=300), name="t"))
    assert str(est).startswith("I(a, b, c, +2 more; t) = ")
    assert est.names["x"] == ("a", "b", "c", "d", "e")


def test_every_part_of_a_pid_carries_the_names():
    pd = pytest.importorskip("pandas")
    r = np.random.default_rng(2)
    a, b = r.normal(size=300), r.normal(size=300)
    parts = estimate(
        "pid",
        pd.Series(a, name="left"),
        pd.Series(b, name="right"),
        pd.Series(a + b + 0.5 * r.normal(size=300), name="sum"),
        method="gaussian",
    )
    assert all(p.names == {"x1": ("left",), "x2": ("right",), "target": ("sum",)} for p in parts.values())
    assert str(parts["synergy"]).startswith("synergy(left, right -> sum) = ")
    one = estimate("pid", pd.Series(a, name="left"), b, a + b + r.normal(size=300), method="gaussian")
    assert str(one["redundancy"]).startswith("redundancy(left, X2 -> Y) = ")


def test_the_json_record_holds_the_names_under_the_report_and_none_without():
    pd = pytest.importorskip("pandas")
    x, y = _pair()
    record = json.loads(json.dumps(_ksg(pd.Series(x, name="height"), y).to_dict()))
    assert record["report"]["names"] == {"x": ["height"]}
    assert json.loads(json.dumps(_ksg(x, y).to_dict()))["report"]["names"] is None
    assert "names" not in {f.name for f in dataclasses.fields(Estimate)}  # the lean result keeps its fields


def test_an_estimate_takes_names_as_the_report_does():
    est = Estimate(torch.tensor(0.5), 100, "ksg", names={"x": ("a",), "y": ("b",)})
    assert est.names == est.report.names == {"x": ("a",), "y": ("b",)}
    assert str(est) == "I(a; b) = 0.5000 nats [ksg, N=100], not checked"
    assert Report().names is None and str(Estimate(torch.tensor(0.5), 100, "ksg")).startswith("0.5000 nats")
