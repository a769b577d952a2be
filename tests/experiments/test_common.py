"""The options every reproduction shares: overriding a preset's config from the command line."""

import pytest

from iblearn.experiments import ReproduceOptions
from iblearn.experiments.mole import Config


def test_overrides_replace_fields_and_lists_become_tuples():
    config = ReproduceOptions(overrides={"tasks": ["cora"], "seeds": 5}).configure(Config.quick())
    assert config.tasks == ("cora",)
    assert config.seeds == 5
    assert config.epochs == Config.quick().epochs  # everything else is the preset's


def test_nested_lists_become_nested_tuples():
    from iblearn.experiments.layerwise_ib import Config as LayerwiseConfig

    config = ReproduceOptions(overrides={"runs": [["fashion-mnist", 0.1]]}).configure(LayerwiseConfig())
    assert config.runs == (("fashion-mnist", 0.1),)


def test_an_unknown_field_is_named():
    with pytest.raises(ValueError, match="--set colour: Config has no such field"):
        ReproduceOptions(overrides={"colour": 3}).configure(Config.quick())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"estimators": "mine"}, "--set estimators: expected a JSON list"),  # would iterate its letters
        ({"seeds": "five"}, "--set seeds: expected int"),
        ({"seeds": 2.5}, "--set seeds: expected int"),
        ({"standardize_output": 1}, "--set standardize_output: expected true or false"),
    ],
)
def test_a_value_that_does_not_fit_its_field_is_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        ReproduceOptions(overrides=overrides).configure(Config.quick())


def test_a_nested_config_takes_an_object_of_its_own_fields():
    from iblearn.experiments import ib_theory

    config = ReproduceOptions(overrides={"plane": {"epochs": 3}, "linear_n": 500}).configure(
        ib_theory.Config()
    )
    assert config.plane.epochs == 3 and config.linear_n == 500
    assert config.plane.train_size == ib_theory.Config().plane.train_size
    with pytest.raises(ValueError, match=r"--set plane\.colour: Config has no such field"):
        ReproduceOptions(overrides={"plane": {"colour": 1}}).configure(ib_theory.Config())


def test_no_overrides_return_the_preset_itself():
    preset = Config.quick()
    assert ReproduceOptions().configure(preset) is preset
