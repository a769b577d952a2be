"""The emulated-CPU run's set-up (tests/run_emulated.py), without an emulator: a stand-in ``qemu-x86_64``
that runs its program natively, with the argv[0] that QEMU's ``-0`` gives it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests import run_emulated

STAND_IN = """#!/bin/bash
if [ "$1" = --version ]; then echo "qemu-x86_64 version {version} (stand-in)"; exit 0; fi
# qemu-x86_64 -cpu CPU -0 ARGV0 PROGRAM ARGS...
[ "$1" = -cpu ] && [ "$3" = -0 ] || exit 97
argv0=$4; shift 4; exec -a "$argv0" "$@"
"""


def _stand_in(folder: Path, version: str, monkeypatch: pytest.MonkeyPatch) -> str:
    qemu = folder / "qemu-x86_64"
    qemu.write_text(STAND_IN.format(version=version))
    qemu.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return str(qemu)


def test_an_older_qemu_is_refused_naming_the_version_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stand_in(tmp_path, "7.2.0", monkeypatch)
    with pytest.raises(SystemExit, match=r"QEMU 10 or later, found qemu-x86_64 version 7\.2\.0"):
        run_emulated._qemu()


def test_the_wrapper_runs_this_environment_and_is_its_own_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    qemu = _stand_in(tmp_path, "10.0.2", monkeypatch)
    assert run_emulated._qemu() == qemu
    folder = tmp_path / "env"
    folder.mkdir()
    python = run_emulated._interpreter(folder, qemu)
    # Subprocesses started with sys.executable go through the emulator again; this environment's
    # packages import.
    done = subprocess.run(
        [python, "-c", "import sys, iblearn; print(sys.executable); print(sys.prefix)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(python), str(folder)]
