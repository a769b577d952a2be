"""The scans' copies for the targets this CPU's module does not run (scan_harness.c): the generic vectors'
copy, the portable set's off x86-64 (NEON's minimum and maximum on aarch64), counts as the scalar copy
does, bit for bit, built and run here by the C compiler, and for aarch64 by a cross compiler under
qemu-user where both are installed (Debian: gcc-aarch64-linux-gnu, qemu-user; not in CI)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

HARNESS = Path(__file__).with_name("scan_harness.c")

#: The compiler the extension is built with, as setup.py builds it (-O3, C11).
FLAGS = ["-O3", "-std=c11"]


def _run(compiler: str, tmp_path: Path, *prefix: str, static: bool = False) -> str:
    binary = tmp_path / "harness"
    build = [compiler, *FLAGS, *(["-static"] if static else []), "-o", str(binary), str(HARNESS), "-lm"]
    subprocess.run(build, check=True, capture_output=True, timeout=120)
    done = subprocess.run([*prefix, str(binary)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _none_differ(line: str) -> bool:
    """Whether the harness's line says that none of a positive number of runs differ."""
    found = re.match(r"0 of (\d+) runs differ", line)
    return found is not None and int(found[1]) > 0


def test_every_copy_counts_as_the_scalar_one_here(tmp_path):
    compiler = shutil.which((sysconfig.get_config_var("CC") or "cc").split()[0]) or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler")
    assert _none_differ(_run(compiler, tmp_path))


@pytest.mark.slow  # about 10 s under the emulator
def test_every_copy_counts_as_the_scalar_one_on_aarch64(tmp_path):
    compiler, emulator = shutil.which("aarch64-linux-gnu-gcc"), shutil.which("qemu-aarch64")
    if compiler is None or emulator is None:
        pytest.skip("no aarch64 cross compiler or qemu-aarch64")
    assert _none_differ(_run(compiler, tmp_path, emulator, static=True))
