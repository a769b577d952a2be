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


def test_no_overrides_return_the_preset_itself():
    preset = Config.quick()
    assert ReproduceOptions().configure(preset) is preset
