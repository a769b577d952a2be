"""The iblearn command: estimate, reproduce's conventions, errors with exit status 2."""

from __future__ import annotations

import numpy as np
import pytest

from iblearn.cli import main
from iblearn.data import bivariate_normal, categorical_uniform


@pytest.fixture
def samples(tmp_path):
    x, y = bivariate_normal().sample(500, seed=0)
    np.save(tmp_path / "x.npy", x.numpy())
    np.save(tmp_path / "y.npy", y.numpy())
    xc, c = categorical_uniform().sample(500, seed=0)
    np.savetxt(tmp_path / "xc.csv", xc.numpy(), delimiter=",")
    np.savetxt(tmp_path / "c.csv", c.numpy(), delimiter=",", fmt="%d")
    return tmp_path


def test_estimate_prints_value_error_and_time(samples, capsys):
    options = "--method ksg --k 4 --resamples 4 --permutations 9".split()
    assert main(["estimate", str(samples / "x.npy"), str(samples / "y.npy"), *options]) == 0
    text = capsys.readouterr().out
    assert "I(X;Y) = 0.4" in text and "standard error: 0.0" in text and "half-sampling jackknife" in text
    assert "p-value: 0.1, from 9 permutations" in text and "k=4" in text


def test_estimate_in_bits_from_csv_labels(samples, capsys):
    options = "--method mixed_ksg --base 2".split()
    assert main(["estimate", str(samples / "xc.csv"), str(samples / "c.csv"), *options]) == 0
    assert "bits" in capsys.readouterr().out


def test_a_neural_estimate_is_trained_on_part_of_the_rows_and_reported_on_the_rest(samples, capsys):
    args = ["estimate", str(samples / "x.npy"), str(samples / "y.npy"), "--method", "mine", "--steps", "300"]
    assert main([*args, "--option", "hidden=[64]", "--option", "lr=0.002"]) == 0
    text = capsys.readouterr().out
    value = float(text.split("I(X;Y) = ")[1].split()[0])
    assert 0.2 < value < 0.7  # truth 0.413 (an untrained critic reports about 0)
    # 400 training rows: 320 to train on, 80 to stop early on.
    words = " ".join(text.split())  # rich wraps long lines
    assert "trained on 320 standardized rows, 80 more held out" in words
    assert "the estimate is on the other 100" in words
    assert "N = 100" in text


def test_neural_estimates_take_labels_from_a_text_file(samples, capsys):
    args = ["estimate", str(samples / "xc.csv"), str(samples / "c.csv"), "--method", "mine", "--steps", "200"]
    assert main([*args, "--option", "y_classes=5", "--option", "hidden=[32]", "--option", "lr=0.005"]) == 0
    value = float(capsys.readouterr().out.split("I(X;Y) = ")[1].split()[0])
    assert 0.5 < value < 1.3  # truth 1.055


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["estimate", "missing.npy", "y.npy"], "X: no such file"),
        (["estimate", "x.npy", "y.npy", "--method", "kraskov"], "--method: unknown estimator 'kraskov'"),
        (["estimate", "x.npy", "y.npy", "--method", "ksgg"], "did you mean ksg"),
        (["estimate", "x.npy"], "Y: give a second file, or --y-cols"),
        (["estimate", "x.npy", "y.npy", "--x-cols", "a"], "--x-cols: no column 'a'; the file has no header"),
        (["estimate", "x.npy", "y.npy", "--threads", "0"], "threads: expected a positive integer"),
        (
            ["estimate", "x.npy", "y.npy", "--method", "gaussian", "--k", "3"],
            "k: not a setting of gaussian; it takes rtol, bias_correction, base",
        ),
        (["reproduce", "nothing"], "NAME: unknown reproduction 'nothing'"),
        (["reproduce", "mole", "--set", "colour=3"], "--set colour: Config has no such field"),
        (["--threads", "0", "estimate", "x.npy", "y.npy"], "threads: expected a positive integer"),
        (
            ["estimate", "x.npy", "y.npy", "--method", "nwj", "--test-fraction", "1"],
            "--test-fraction: the share of rows held out must lie strictly between 0 and 1, got 1.0",
        ),
    ],
)
def test_errors_exit_with_status_2_and_name_the_argument(samples, capsys, monkeypatch, args, message):
    monkeypatch.chdir(samples)
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_a_toml_config_file_sets_fields_and_set_takes_precedence(tmp_path, monkeypatch):
    from iblearn import experiments
    from iblearn.experiments import ib_theory

    seen = []

    def fake(options):
        seen.append(options.configure(ib_theory.Config()))
        return tmp_path

    monkeypatch.setitem(experiments.REPRODUCTIONS, "ib-theory", fake)
    (tmp_path / "c.toml").write_text("linear_n = 600\nexamples_n = 300\n[plane]\nepochs = 3\n")
    args = ["reproduce", "ib-theory", "--config", str(tmp_path / "c.toml"), "--set", "examples_n=200"]
    assert main(args) == 0
    assert (seen[0].linear_n, seen[0].examples_n, seen[0].plane.epochs) == (600, 200, 3)


def test_a_run_folders_config_json_reruns_that_run(tmp_path, monkeypatch):
    """The config.json a run writes (its fields, the experiment's name, its seed and device) is a valid
    --config: the fields as they were, the seed the run's unless --seed gives another."""
    import json
    from dataclasses import asdict

    from iblearn import experiments
    from iblearn.experiments import ib_theory

    seen = []

    def fake(options):
        seen.append((options.configure(ib_theory.Config()), options.seed, options.device))
        return tmp_path

    monkeypatch.setitem(experiments.REPRODUCTIONS, "ib-theory", fake)
    record = {
        "experiment": "paper 003",
        **asdict(ib_theory.Config()),
        "linear_n": 600,
        "seed": 7,
        "device": "cpu",
    }
    (tmp_path / "config.json").write_text(json.dumps(record))
    assert main(["reproduce", "ib-theory", "--config", str(tmp_path / "config.json")]) == 0
    assert main(["reproduce", "ib-theory", "--config", str(tmp_path / "config.json"), "--seed", "1"]) == 0
    assert [(c.linear_n, seed, device) for c, seed, device in seen] == [(600, 7, "cpu"), (600, 1, "cpu")]


@pytest.mark.parametrize(
    ("text", "suffix", "message"),
    [
        ("linear_n = ", ".toml", "--config: "),
        ("[1, 2]", ".json", "holds a list, not a table of config fields"),
        ("linear_n: 3", ".yaml", "is neither .json nor .toml"),
        ("linear_n = -600", ".toml", "--set linear_n: must be >= 1"),
    ],
)
def test_a_bad_config_file_is_named(tmp_path, capsys, text, suffix, message):
    (tmp_path / f"c{suffix}").write_text(text)
    assert main(["reproduce", "ib-theory", "--config", str(tmp_path / f"c{suffix}")]) == 2
    assert message in " ".join(capsys.readouterr().err.split())  # rich wraps long lines


def test_a_neural_estimate_of_samples_at_1e300_is_that_of_the_samples(samples, tmp_path, capsys):
    # The critic's inputs were standardized with a standard deviation that overflows: all rows became 0,
    # and the estimate 0.0000 for 0.4984.
    for name in ("x", "y"):
        np.save(tmp_path / f"{name}300.npy", np.load(samples / f"{name}.npy").astype(np.float64) * 1e300)
    lines = []
    for x, y in (("x", "y"), ("x300", "y300")):
        args = ["estimate", str(tmp_path / f"{x}.npy"), str(tmp_path / f"{y}.npy"), "--method", "infonce"]
        assert main([*args, "--steps", "100"]) == 0
        lines.append(capsys.readouterr().out.splitlines()[0])
    assert lines[0] == lines[1] and lines[0] != "I(X;Y) = 0.0000 nats"


def test_unreadable_files_and_a_diverging_critic_exit_2_with_a_message(tmp_path, capsys):
    import os
    import pickle

    import numpy as np

    from iblearn.cli import main

    good = tmp_path / "good.npy"
    np.save(good, np.random.default_rng(0).normal(size=(64, 2)))
    (tmp_path / "empty.npy").write_bytes(b"")

    class Payload:
        def __reduce__(self):
            return (os.system, ("true",))

    (tmp_path / "payload.pt").write_bytes(pickle.dumps(Payload()))
    for x, extra, message in (
        ("empty.npy", [], "X: cannot read"),
        ("payload.pt", [], "X: cannot read"),
        ("good.npy", ["--method", "js", "--option", "lr=1e8", "--steps", "20"], "the critic's loss"),
    ):
        assert main(["estimate", str(tmp_path / x), str(good), *extra]) == 2
        assert message in capsys.readouterr().err.replace("\n", " ")


def test_help_and_argument_errors_do_not_import_torch():
    """torch's import took 4-13 s of every `iblearn --help`; parsing needs none."""
    import subprocess
    import sys

    script = (
        "import sys\nfrom iblearn.cli import main\n"
        "for argv in (['--help'], ['estimate'], ['reproduce', '--help']):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_a_reader_that_goes_away_ends_the_command_quietly(capsys):
    """``iblearn estimate ... | head -1``: the closed pipe is no error of the user's to report."""
    import argparse

    from iblearn.cli import _run

    def write(_: argparse.Namespace) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    assert _run(argparse.Namespace(threads=1, func=write)) == 1
    assert capsys.readouterr().err == ""


def test_python_dash_m_iblearn_runs_the_command():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "iblearn", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "estimate, demo, bench and reproduce" in done.stdout


@pytest.fixture
def table(tmp_path):
    """A CSV with a header: two numeric columns and a column of class names."""
    x, c = categorical_uniform().sample(300, seed=0)
    names = np.array(["ant", "bee", "cat", "dog", "eel"])[c.numpy()]
    x = np.concatenate([x.numpy(), np.random.default_rng(0).normal(size=(len(x), 1))], axis=1)
    lines = ["width,height,species"] + [f"{a:.17g},{b:.17g},{n}" for (a, b), n in zip(x, names, strict=True)]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "c.npy", c.numpy())
    return tmp_path


def _json(capsys):
    import json

    return json.loads(capsys.readouterr().out)


def test_a_csv_with_a_header_is_read_by_column_name_or_index(table, capsys):
    """'could not convert string to float' on any header; class names become labels."""
    assert (
        main(["estimate", str(table / "x.npy"), str(table / "c.npy"), "--method", "mixed_ksg", "--json"]) == 0
    )
    expected = _json(capsys)["value"]
    for cols in (
        ["--y-cols", "species"],
        ["--x-cols", "0,1", "--y-cols", "-1"],
        ["--x-cols", "width,height"],
    ):
        args = [
            "estimate",
            str(table / "data.csv"),
            *([str(table / "data.csv")] if "--y-cols" not in cols else []),
        ]
        if "--y-cols" not in cols:
            cols = [*cols, "--y-cols", "species"]
        assert main([*args, *cols, "--method", "MixedKSG", "--json"]) == 0
        assert _json(capsys)["value"] == pytest.approx(expected, abs=1e-6)


def test_json_output_is_one_object_with_the_estimate(samples, capsys):
    args = ["estimate", str(samples / "x.npy"), str(samples / "y.npy"), "--method", "KSG", "--json"]
    assert main([*args, "--resamples", "4", "--permutations", "9"]) == 0
    record = _json(capsys)
    assert record["method"] == "ksg" and record["unit"] == "nats" and record["n_samples"] == 500
    assert 0.35 < record["value"] < 0.55 and record["stderr"] > 0 and record["p_value"] == pytest.approx(0.1)
    assert record["measure"] == "mi" and record["report"]["n_permutations"] == 9


@pytest.mark.parametrize(("given", "name"), [("KSG", "ksg"), ("MixedKSG", "mixed_ksg"), ("mine-f", "mine_f")])
def test_method_takes_class_names_in_any_case(given, name):
    from iblearn.estimation.split import method_name

    assert method_name(given) == name


def test_threads_is_accepted_after_the_command_and_before_it():
    from iblearn.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["estimate", "x.npy", "y.npy", "--threads", "2"]).threads == 2
    assert parser.parse_args(["--threads", "3", "estimate", "x.npy", "y.npy"]).threads == 3
    assert parser.parse_args(["reproduce", "mole"]).threads == 1


def test_reproduce_help_lists_every_reproduction(capsys):
    from iblearn.cli import REPRODUCTION_NAMES
    from iblearn.experiments import REPRODUCTIONS

    assert list(REPRODUCTION_NAMES) == list(REPRODUCTIONS)
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    text = capsys.readouterr().out
    assert all(f"  {name} " in text for name in REPRODUCTIONS)


def test_progress_knows_its_total_before_the_work(tmp_path):
    """reproduce showed '1/?': the config a run resolves tells the bar its total."""
    from iblearn.experiments import aamine_noise
    from iblearn.experiments.options import ReproduceOptions

    calls: list[str] = []
    planned: list[int] = []
    config = aamine_noise.Config(noise_vars=(0.0, 1.0), n_train=64, n_test=32, rounds=1, steps=2, hidden=8)
    options = ReproduceOptions(
        out=tmp_path, progress=calls.append, planned=lambda c: planned.append(c.progress_steps())
    )
    aamine_noise.run(options, config)
    assert planned == [len(calls)] == [4]


def test_every_experiment_has_a_demo_preset_and_counts_its_steps():
    from iblearn.cli import DEMO_SECTIONS
    from iblearn.cli.demo import _demo_config

    for section in DEMO_SECTIONS.values():
        config = _demo_config(section.reproduction)
        if section.reproduction == "estimators":
            assert config is None  # its --quick preset
            continue
        assert config.progress_steps() >= 1


def test_the_demo_explains_each_section_and_lists_folders_and_pictures(tmp_path, monkeypatch, capsys):
    import json

    from iblearn import experiments
    from iblearn.cli import DEMO_SECTIONS

    accuracy = {"train_acc": (90.0, 0.0), "seeds": 1}
    results = {
        "proximal": [
            {"part": "binary", "method": "baseline lr=0.1", "reached_95": 0, **accuracy},
            {
                "part": "binary",
                "method": "ours gamma=100",
                "reached_95": 1,
                "iterations_to_95": (40, 0),
                **accuracy,
            },
        ],
        "mole": [
            {"task": "mnist", "method": "bp", "test_acc": (90.0, 0.0), **accuracy},
            {"task": "mnist", "method": "matrix", "test_acc": (92.5, 0.0), **accuracy},
        ],
    }

    def fake(options, config=None):
        options.planned(config)
        options.progress("one step")
        (options.out).mkdir(parents=True)
        (options.out / "table.md").write_text("| a |\n|---|\n| 1 |\n")
        (options.out / "results.json").write_text(json.dumps({"summary": results[options.out.name]}))
        (options.out / "picture.png").write_bytes(b"")
        return options.out

    for name in DEMO_SECTIONS:
        if name != "estimators":
            monkeypatch.setitem(experiments.REPRODUCTIONS, DEMO_SECTIONS[name].reproduction, fake)
    for name, said in (
        ("proximal", "the first to 95% is ours gamma=100; ours gamma=100 is faster than baseline lr=0.1"),
        ("mole", "MOLE (matrix) +2.50 points; the best is MOLE (matrix)"),
    ):
        assert main(["demo", "--only", name, "--out", str(tmp_path)]) == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "What it means: Here" in text and said in text
        assert " ".join(DEMO_SECTIONS[name].meaning.split()[:6]) in text
        assert "summary" in text and "picture.png" in text and str(tmp_path / name) in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n1,2\n3\n", "X: line 3 of"),
        ("a,b\n1,2\n3,\n", "has an empty field"),
        ("a,b\n1,2\n3,n/a\n", "has 'n/a' in a column of numbers"),
        ("a,b\n", "holds no rows of samples"),
    ],
)
def test_a_bad_table_is_refused_naming_the_line(tmp_path, capsys, text, message):
    (tmp_path / "t.csv").write_text(text)
    assert main(["estimate", str(tmp_path / "t.csv"), "--y-cols", "a"]) == 2
    assert message in " ".join(capsys.readouterr().err.split())


def test_a_neural_estimate_shows_its_training_progress(samples, monkeypatch, capsys):
    """A neural estimate trained for seconds with no feedback."""
    from contextlib import contextmanager

    import iblearn.cli.estimate

    seen: list[tuple[int | None, str]] = []
    messages: list[str] = []

    @contextmanager
    def recorder(total, title):
        seen.append((total, title))
        yield messages.append

    monkeypatch.setattr(iblearn.cli.estimate, "progress_bar", recorder)
    args = ["estimate", str(samples / "x.npy"), str(samples / "y.npy"), "--method", "infonce"]
    assert main([*args, "--steps", "40"]) == 0
    assert seen == [(40, "critic")] and 1 <= len(messages) <= 40 and messages[0].startswith("loss ")


@pytest.mark.parametrize("seed", ["-1", str(2**70)])
def test_reproduce_refuses_a_seed_out_of_range_before_running(tmp_path, capsys, seed):
    args = ["reproduce", "ib-theory", "--seed", seed, "--out", str(tmp_path / "run")]
    assert main(args) == 2
    assert "--seed: expected an integer in [0, 2^32)" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_another_reproductions_config_json_is_refused_naming_that_reproduction(tmp_path, capsys):
    import json
    from dataclasses import asdict

    from iblearn.experiments import aamine_noise

    record = {"experiment": aamine_noise.EXPERIMENT, **asdict(aamine_noise.Config()), "seed": 0}
    (tmp_path / "config.json").write_text(json.dumps(record))
    assert main(["reproduce", "mi-lr", "--config", str(tmp_path / "config.json")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "records a run of aamine-noise, not of mi-lr" in err
    assert "iblearn reproduce aamine-noise --config" in err
