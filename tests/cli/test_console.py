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


def test_a_library_warning_is_one_line_and_the_estimates_own_verdict_is_not_repeated(monkeypatch, capsys):
    import warnings

    def command(args):
        warnings.warn("auto: unreliable estimate: half data: FAIL", UserWarning, stacklevel=1)
        warnings.warn("few rows [see the guide]", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr("iblearn.cli.estimate.cmd_estimate", command)
    assert main(["estimate", "x.npy"]) == 0
    assert capsys.readouterr().err == "warning: few rows [see the guide]\n"


def test_text_the_user_gave_is_printed_as_given_not_read_as_markup(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("[a],b\n" + "".join(f"{i},{i % 7}\n" for i in range(40)))
    for given in ("[/x]", "[bold]b", "[b]"):
        assert main(["estimate", str(tmp_path / "t.csv"), "--y-cols", given]) == 2
        said = capsys.readouterr().err
        assert f"no column {given!r}" in said and "the columns are [a], b" in said


def test_an_os_error_without_a_file_is_its_reason_alone(monkeypatch, capsys):
    import errno

    def command(args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("iblearn.cli.estimate.cmd_estimate", command)
    assert main(["estimate", "x.npy"]) == 2
    assert capsys.readouterr().err == "error: No space left on device\n"
