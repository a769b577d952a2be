"""Settings as keyword arguments of ``__init__`` (iblearn.estimators.base): each class lists its own in
its signature, checked and stored there, read back by ``settings()`` through that signature, a fixed
one no keyword, ``fit`` without them."""

from __future__ import annotations

import inspect
import math
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn import estimators as E
from iblearn.estimators import (
    CLUB,
    DGI,
    DIM,
    KSG,
    MINE,
    NWJ,
    REGISTRY,
    SMILE,
    BoundEstimator,
    Estimator,
    InfoNCE,
    MINEf,
    NeuralEstimator,
)
from iblearn.estimators import base as estimator_base


class Toy(Estimator):
    name = "toy"

    def __init__(
        self, k: int = 3, *, mode: str = "a", scale: float | None = None, base: float = math.e
    ) -> None:
        self.k = V.positive_int(k, "k")
        self.mode = V.choice(mode, "mode", ("a", "b"))
        self.scale = None if scale is None else V.positive(scale, "scale")
        super().__init__(base=base)

    def mi(self, x: Any, y: Any) -> Tensor:
        raise NotImplementedError


class Narrow(Toy):
    """Takes a network and ``k``, fixes ``scale`` and keeps ``mode``'s default: its own signature, with
    no ``**kwargs``, so the inherited settings it does not list are no keywords of it."""

    name = "narrow"

    def __init__(self, net: nn.Module, k: int = 3) -> None:
        self.__dict__["net"] = net  # a value, not a submodule
        super().__init__(k, scale=2.0)


def test_a_setting_is_a_keyword_an_attribute_and_a_setting():
    est = Toy(5, mode="b")
    assert (est.k, est.mode, est.scale, est.base) == (5, "b", None, pytest.approx(2.718281828))
    assert list(est.settings()) == ["k", "mode", "scale", "base"]  # positional first, the base's after
    assert type(est)(**est.settings()).settings() == est.settings()
    assert str(inspect.signature(Toy)).startswith("(k: 'int' = 3, *, mode: 'str' = 'a', scale:")


def test_a_bad_value_raises_a_value_error_naming_its_argument():
    with pytest.raises(ValueError, match="k: expected a positive integer"):
        Toy(0)
    with pytest.raises(ValueError, match="mode: expected one of 'a', 'b'"):
        Toy(mode="c")
    with pytest.raises(ValueError, match="base: the logarithm's base"):
        Toy(base=1)
    with pytest.raises(ValueError, match="clip: must be a positive finite number"):
        MINE(1, 1, clip=-1.0)
    with pytest.raises(ValueError, match="objective: expected one of 'dv', 'f'"):
        MINE(objective="g")
    with pytest.raises(ValueError, match="lr: must be a positive finite number"):
        NWJ(lr=0)


def test_an_assignment_is_checked_as_the_constructor_checks_it_and_settings_report_it():
    est = NWJ(1, 1)
    est.lr = 1e-2
    assert est.settings()["lr"] == 1e-2
    with pytest.raises(ValueError, match="lr: must be a positive finite number"):
        est.lr = 0
    assert est.lr == 1e-2


def test_unknown_and_missing_arguments_are_type_errors_as_in_python():
    with pytest.raises(TypeError, match="mod"):
        Toy(mod="a")
    with pytest.raises(TypeError, match="positional"):
        Toy(3, "b")
    with pytest.raises(TypeError, match="net"):
        Narrow()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="kk"):
        KSG(kk=5)  # type: ignore[call-arg]


def test_a_fixed_setting_is_no_keyword_and_keeps_its_value():
    net = nn.Linear(2, 2)
    est = Narrow(net, 4)
    assert list(inspect.signature(Narrow).parameters) == ["net", "k"]
    assert (est.mode, est.scale, est.k) == ("a", 2.0, 4)
    assert est.settings() == {"k": 4}  # a network given is no setting: it cannot be rebuilt from a record
    assert "net" not in dict(est.named_modules())  # kept as a value, not registered as a submodule
    with pytest.raises(TypeError, match="mode"):
        Narrow(net, mode="b")  # type: ignore[call-arg]
    # MINE-f beside MINE: its objective a class attribute, not a keyword.
    assert "objective" in inspect.signature(MINE).parameters
    assert "objective" not in inspect.signature(MINEf).parameters and MINEf().objective_kind == "f"
    with pytest.raises(TypeError, match="objective"):
        MINEf(objective="dv")  # type: ignore[call-arg]
    # A q(y | x) draws no negatives; DIM and DGI list the few settings they take.
    assert not {"y_classes", "n_negatives"} & set(inspect.signature(CLUB).parameters)
    assert "average" not in inspect.signature(DIM).parameters and DIM().average is None
    assert list(inspect.signature(DGI).parameters) == ["encoder", "rep_dim", "lr", "seed", "base"]


def test_the_signature_shows_every_setting_with_its_default():
    """Each class's own ``__init__`` lists its settings: ``help()``, IDEs and mypy see them all."""
    params = inspect.signature(MINE).parameters
    assert params["clip"].default == 5.0 and params["lr"].default == 2e-3 and params["base"].default == math.e
    assert params["x_dim"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert params["seed"].kind is inspect.Parameter.KEYWORD_ONLY
    assert inspect.signature(KSG).parameters["variant"].default == 1
    assert "critic" in inspect.signature(NWJ).parameters  # the keyword; the attribute critic is the module


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_signature_is_its_own_init_with_no_passed_on_keywords(name):
    """What ``inspect.signature`` shows is the class's ``__init__`` (no signature written for it), and it
    lists every setting: no ``**kwargs`` hides one (``settings()`` returning each of them is checked for
    every exported class below)."""
    cls = REGISTRY[name]
    params = inspect.signature(cls).parameters
    assert "__signature__" not in vars(cls)
    assert inspect.signature(cls.__init__).parameters.keys() - {"self"} == params.keys()
    assert not any(p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in params.values())
    assert cls.__name__ in E.__all__  # so test_settings_rebuild_every_exported_estimator covers it


def test_the_machinery_is_gone():
    assert not hasattr(estimator_base, "settings_signature")
    assert not hasattr(Estimator, "renamed")


# What each exported estimator class needs beyond its defaults (small networks: built, not trained).
_NEEDS: dict[str, dict[str, Any]] = {
    "AAMINE": {"subnet": nn.Linear(2, 2), "noise_std": 0.1, "hidden": (4,)},
    "CLUB": {"y_dim": 1, "hidden": (4,)},
    "DoE": {"y_dim": 1, "hidden": (4,)},
    "DGI": {"encoder": lambda x, edge_index: x, "rep_dim": 3},
    "GMI": {"rep_dim": 3, "feature_dim": 2},
    "LMI": {"x_dim": 2, "y_dim": 2, "hidden": (4,), "latent": 2},
    "MIENF": {"x_dim": 2, "y_dim": 2, "hidden": (4,), "transforms": 1},
    "MINDE": {"x_dim": 2, "y_dim": 2, "hidden": (4,)},
}
_ABSTRACT = {"Estimator", "Conditional", "NeuralEstimator", "BoundEstimator", "RepresentationEstimator"}
EXPORTED = sorted(
    name
    for name, obj in vars(E).items()
    if name in E.__all__ and isinstance(obj, type) and issubclass(obj, Estimator) and name not in _ABSTRACT
)


@pytest.mark.parametrize("name", EXPORTED)
def test_settings_rebuild_every_exported_estimator(name):
    cls = getattr(E, name)
    est = cls(**_NEEDS.get(name, {}))
    networks = {k: v for k, v in _NEEDS.get(name, {}).items() if k in ("subnet", "encoder")}
    rebuilt = cls(**networks, **est.settings())
    assert rebuilt.settings() == est.settings()
    assert set(est.settings()) | set(networks) == set(inspect.signature(cls).parameters)


def test_fit_takes_the_training_settings_once_from_the_constructor():
    x = torch.randn(40, 1)
    est = NWJ(1, 1, hidden=(4,), validation=0)
    with pytest.raises(TypeError, match="validation"):
        est.fit(x, x, steps=1, validation=0.3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="patience"):
        est.fit(x, x, steps=1, patience=2)  # type: ignore[call-arg]
    assert est.fit(x, x, steps=2, batch_size=8).history is None  # validation=0: nothing held out


# The defaults a family changes on purpose: its default network, and the widths, learning rates and
# (no) weight average of the estimators that follow their papers; DIM's evaluation batch of images.
_OWN_DEFAULTS = {"critic", "hidden", "lr", "average"}
_OWN_DEFAULTS_OF = {"dim": {"eval_batch_size"}}


@pytest.mark.parametrize("name", sorted(n for n, c in REGISTRY.items() if issubclass(c, NeuralEstimator)))
def test_a_shared_setting_has_the_same_default_in_every_signature_that_states_it(name):
    """The neural family's shared settings are stated in each constructor: their defaults stay equal."""
    shared = inspect.signature(BoundEstimator).parameters
    for param in inspect.signature(REGISTRY[name]).parameters.values():
        if param.name in shared and param.name not in _OWN_DEFAULTS | _OWN_DEFAULTS_OF.get(name, set()):
            assert param.default == shared[param.name].default, (name, param.name)
            assert param.kind == shared[param.name].kind, (name, param.name)
    for cls in (MINE, MINEf, InfoNCE, SMILE, CLUB):
        for key in ("hidden", "lr", "average"):
            assert inspect.signature(cls).parameters[key].default == shared[key].default, (cls, key)


def test_passed_on_hands_the_parents_keywords_and_leaves_the_rest_at_its_defaults():
    given = {"self": object(), "k": 5, "mode": "b", "net": nn.Identity(), "__class__": Toy}
    assert estimator_base.passed_on(given, Toy) == {"k": 5, "mode": "b"}  # scale keeps Toy's default
    est = NWJ(1, 1, lr=1e-3, patience=2, seed=3)  # through BoundEstimator to NeuralEstimator
    assert (est.lr, est.patience, est.seed, est.n_negatives) == (1e-3, 2, 3, 8)
