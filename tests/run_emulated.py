"""Tests on an emulated AMD EPYC (Zen 2: AVX2, no AVX-512), for a machine that has AVX-512
(`make test-emulated`).

Capping the instruction sets by environment (`make test-avx2`) leaves every library's own CPU detection
alone, and an AVX-512 instruction that slips through still runs. Here Python runs under QEMU's user-mode
emulator (``qemu-x86_64 -cpu EPYC-Rome``): the CPU reports an AMD vendor and no AVX-512, so the compiled
kernel, torch, numpy and the BLAS choose their paths as on that CPU, and any AVX-512 instruction faults.
Subprocesses that the tests start with ``sys.executable`` run emulated too: the interpreter is a small
wrapper in a temporary folder laid out as the running environment. Emulation is slow (about 90 times
the CPU's time), so it runs the test files given, in one process.

    python tests/run_emulated.py [pytest options and test files]

Needs QEMU 10 or later: QEMU 7.2's AVX2 (Debian 12's ``qemu-user``) returns wrong orders from numpy's
``argsort`` of float32; Debian 12 has QEMU 10 in bookworm-backports.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CPU = "EPYC-Rome,check=off"  # check=off: no warning for each feature the emulator leaves out
QEMU_MAJOR = 10
#: What the emulated interpreter must report before a test runs: the kernel's set and torch's.
PROBE = (
    "import torch\n"
    "from iblearn.functional.knn import kernel_isa\n"
    "print(kernel_isa(), torch.backends.cpu.get_cpu_capability())\n"
)


def _qemu() -> str:
    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        raise SystemExit("the emulated run needs qemu-x86_64 (Debian: apt-get install qemu-user)")
    version = subprocess.run([qemu, "--version"], capture_output=True, text=True).stdout
    found = re.search(r"version (\d+)\.", version)
    if found is None or int(found.group(1)) < QEMU_MAJOR:
        first = version.splitlines()[0] if version else "no version"
        raise SystemExit(
            f"the emulated run needs QEMU {QEMU_MAJOR} or later, found {first}: 7.2's AVX2 sorts wrongly "
            "(Debian 12: apt-get install -t bookworm-backports qemu-user)"
        )
    return qemu


def _interpreter(folder: Path, qemu: str) -> Path:
    """A ``bin/python`` in ``folder`` that runs this interpreter under the emulator, with ``folder``
    laid out as this environment (its ``pyvenv.cfg`` and ``lib``), so that the emulated interpreter
    finds its packages and reports the wrapper as ``sys.executable``."""
    prefix = Path(sys.prefix)
    if (prefix / "pyvenv.cfg").exists():
        shutil.copy(prefix / "pyvenv.cfg", folder / "pyvenv.cfg")
    (folder / "lib").symlink_to(prefix / "lib")
    (folder / "bin").mkdir()
    wrapper = folder / "bin" / "python"
    real = os.path.realpath(sys.executable)
    wrapper.write_text(f'#!/bin/sh\nexec "{qemu}" -cpu {CPU} -0 "$0" "{real}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def main(args: list[str]) -> int:
    qemu = _qemu()
    with tempfile.TemporaryDirectory() as tmp:
        python = _interpreter(Path(tmp), qemu)
        env = {k: v for k, v in os.environ.items() if k != "IBLEARN_SIMD"}  # the CPU decides
        probe = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, env=env, cwd=ROOT)
        if probe.returncode != 0 or probe.stdout.split() != ["avx2", "AVX2"]:
            print(probe.stdout, probe.stderr, file=sys.stderr)
            raise SystemExit("the emulated CPU does not run the AVX2 paths (kernel, torch): see above")
        print(f"emulated {CPU.split(',')[0]}: kernel avx2, torch AVX2", flush=True)
        cmd = [str(python), "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider", *args]
        return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
