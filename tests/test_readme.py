"""The README's Python examples run, each alone, as a user would paste one of them, and print what the
README shows they print (``#>`` comments, compared as ``tests/docs_outputs.py`` says)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import torch

from tests import docs_outputs

README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLES = docs_outputs.blocks(README)
BLOCKS = [example.source for example in EXAMPLES]


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 3


def test_the_readme_shows_what_its_estimates_print():
    """The printed estimates are shown, so that a changed estimator or printed form fails a test."""
    shown = [s.text for example in EXAMPLES for s in example.shown]
    assert sum(" nats" in text for text in shown) >= 6


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_each_readme_example_runs_alone(example, capsys, tmp_path, monkeypatch):
    """A fresh namespace per block: no block may lean on names an earlier one defined. Each runs in a
    folder of its own (one writes a CSV for the command-line example), and prints what the README
    shows (IBLEARN_UPDATE_DOC_OUTPUTS=1 rewrites what it shows instead)."""
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    printed = docs_outputs.run(example, {"__name__": "readme"})
    if "print(" in example.source:
        assert capsys.readouterr().out
    problems = docs_outputs.check_or_update(example, printed)
    assert not problems, "\n".join(problems)


def test_the_neural_example_scores_on_rows_its_critic_was_not_fitted_to(monkeypatch):
    """A bound scored on the critic's own training rows rewards memorizing them: every MINE estimate the
    README prints is on rows that critic's ``fit`` never received, one of them through ``estimate_mi``."""
    from iblearn.estimators import MINE

    block = next(b for b in BLOCKS if "MINE(" in b)
    assert "estimate_mi(" in block
    fitted: dict[int, torch.Tensor] = {}
    scored: list[tuple[int, torch.Tensor]] = []
    fit, forward = MINE.fit, MINE.forward

    def spy_fit(self: MINE, x: Any, y: Any = None, **options: Any) -> MINE:
        fitted[id(self)] = torch.as_tensor(x)
        return fit(self, x, y, **options)

    def spy_forward(self: MINE, x: Any, y: Any, **request: Any) -> Any:
        if type(self) is MINE:
            scored.append((id(self), torch.as_tensor(x)))
        return forward(self, x, y, **request)

    monkeypatch.setattr(MINE, "fit", spy_fit)
    monkeypatch.setattr(MINE, "forward", spy_forward)
    exec(compile(block, str(README), "exec"), {"__name__": "readme"})
    assert len({critic for critic, _ in scored}) == 2
    for critic, x in scored:
        train = fitted[critic].reshape(len(fitted[critic]), -1)
        rows = x.reshape(len(x), -1)
        assert not (rows[:, None, :] == train[None, :, :]).all(-1).any()


def test_the_readmes_commands_run_as_printed(tmp_path, monkeypatch, capsys):
    """The command-line calls beside the Python ones, on the file the O-information example writes, each
    through the command's entry point in this process (tests/cli/test_command.py starts the command as a
    process of its own)."""
    import shlex

    from iblearn.cli import main

    commands = [
        line.split("  #")[0].strip()
        for block in re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
        for line in block.splitlines()
        if line.startswith("iblearn estimate copies.csv")
    ]
    assert len(commands) >= 2
    monkeypatch.chdir(tmp_path)
    exec(compile(next(b for b in BLOCKS if "copies.csv" in b), str(README), "exec"), {"__name__": "readme"})
    capsys.readouterr()
    for command in commands:
        code = main(shlex.split(command)[1:])
        done = capsys.readouterr()
        assert code == 0, (command, done.err)
        assert "nats" in done.out, (command, done.out)
