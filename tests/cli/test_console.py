"""The command's text wraps to the terminal on a terminal, and stays one line a paragraph off one (a
pipe, a log), where a hard wrap at an assumed width would split phrases."""

from __future__ import annotations

import io

from iblearn.cli import main
from iblearn.cli.console import _console

PARAGRAPH = " ".join(f"word{i}" for i in range(80))  # about 550 characters


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_a_paragraph_stays_one_line(monkeypatch):
    monkeypatch.setattr("sys.stdout", io.StringIO())
    console = _console(stderr=False)
    console.print(PARAGRAPH)
    assert console.file.getvalue() == PARAGRAPH + "\n"


def test_on_a_terminal_text_wraps_to_its_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setattr("sys.stdout", _Terminal())
    console = _console(stderr=False)
    console.print(PARAGRAPH)
    lines = console.file.getvalue().splitlines()
    assert len(lines) > 5 and max(map(len, lines)) <= 60
    assert " ".join(line.strip() for line in lines) == PARAGRAPH


def test_the_estimate_printed_to_a_pipe_keeps_its_sentences_whole(tmp_path, capsys):
    import numpy as np

    r = np.random.default_rng(0)
    x = r.normal(size=(300, 1))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", x + r.normal(size=(300, 1)))
    assert main(["estimate", str(tmp_path / "x.npy"), str(tmp_path / "y.npy")]) == 0
    lines = capsys.readouterr().out.splitlines()
    said = next(line for line in lines if line.startswith("standard error:"))
    assert said.endswith(")") and len(said) > 110  # the whole sentence, on one line
    assert all(not line.startswith(("the rows", "most accurate")) for line in lines)
