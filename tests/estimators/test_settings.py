"""Settings declared once as class attributes (iblearn.estimators.settings): the constructor, its checks,
settings(), config, and what a type checker sees."""

from __future__ import annotations

import inspect
import subprocess
import sys
from typing import Any, ClassVar

import pytest
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn.estimators import KSG, NWJ, Estimator, setting
from iblearn.estimators.settings import at_least, one_of, optional, required


class Toy(Estimator):
    name = "toy"

    k: int = setting(default=3, check=at_least(1), kw_only=False)
    mode: str = setting(default="a", check=one_of("a", "b"))
    scale: float | None = setting(default=None, check=optional(V.positive))

    def mi(self, x: Any, y: Any) -> Tensor:
        raise NotImplementedError


class Narrow(Toy):
    name = "narrow"
    keywords = "net k"
    fixed: ClassVar[dict[str, Any]] = {"scale": 2.0}

    net: nn.Module = required(lambda value, name: value)


def test_a_declared_setting_is_a_keyword_an_attribute_and_a_setting():
    est = Toy(5, mode="b")
    assert (est.k, est.mode, est.scale, est.base) == (5, "b", None, pytest.approx(2.718281828))
    assert list(est.settings()) == ["k", "mode", "scale", "base"]  # positional first, base last
    assert type(est)(**est.settings()).settings() == est.settings()
    assert str(inspect.signature(Toy)).startswith("(k=3, *, mode='a', scale=None, base=")


def test_settings_are_checked_when_given_and_when_assigned():
    with pytest.raises(ValueError, match="k: expected an integer >= 1"):
        Toy(0)
    with pytest.raises(ValueError, match="mode: expected one of 'a', 'b'"):
        Toy(mode="c")
    est = Toy()
    with pytest.raises(ValueError, match="scale: must be a positive finite number"):
        est.scale = -1.0
    est.scale = 2
    assert est.scale == 2.0


def test_unknown_and_missing_arguments_are_type_errors_as_in_python():
    with pytest.raises(TypeError, match="mod"):
        Toy(mod="a")
    with pytest.raises(TypeError, match="too many positional"):
        Toy(3, "b")
    with pytest.raises(TypeError, match="net"):
        Narrow()


def test_keywords_name_the_settings_a_class_takes_the_others_keep_their_defaults_or_fixed_values():
    net = nn.Linear(2, 2)
    est = Narrow(net, 4)
    assert list(inspect.signature(Narrow).parameters) == ["net", "k", "config"]
    assert (est.mode, est.scale, est.k) == ("a", 2.0, 4)
    assert est.settings() == {"k": 4}  # a network given is no setting: it cannot be rebuilt from a record
    assert est.config.net is net
    assert "net" not in dict(est.named_modules())  # kept as a value, not registered as a submodule
    with pytest.raises(TypeError, match="mode"):
        Narrow(net, mode="b")


def test_config_is_a_frozen_dataclass_that_rebuilds_the_estimator():
    est = KSG(5, seed=2)
    rebuilt = KSG(config=est.config)
    assert rebuilt.settings() == est.settings()
    with pytest.raises(TypeError, match="not both"):
        KSG(3, config=est.config)
    with pytest.raises(AttributeError):
        est.config.k = 1  # type: ignore[misc]


def test_a_neural_family_inherits_the_shared_settings_and_adds_its_own():
    est = NWJ(1, 1, lr=1e-2, hidden=[8])
    assert (est.lr, est.hidden, est.critic_kind) == (1e-2, (8,), "concat")
    assert "critic" in inspect.signature(NWJ).parameters  # the keyword; the attribute critic is the module
    assert isinstance(est.critic, nn.Module)


@pytest.mark.slow
def test_a_type_checker_sees_the_keywords(tmp_path):
    """mypy reads the declared settings as the constructor's (dataclass_transform): a misspelt keyword
    or a wrong type is its error, a right call is not."""
    code = tmp_path / "calls.py"
    code.write_text(
        "from iblearn.estimators import KSG, MINE\n"
        "KSG(5, seed=1)\n"
        "MINE(1, 1, clip=2.0, lr=1e-3)\n"
        "KSG(kk=5)\n"
        "MINE(1, 1, clip='x')\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", str(code)], capture_output=True, text=True
    )
    errors = [line for line in run.stdout.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in errors] == ["4", "5"], run.stdout
