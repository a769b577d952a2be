"""The compiled kernel's tests under AddressSanitizer and UndefinedBehaviorSanitizer (`make test-all`).

The kernel (``functional/knn/_maxnorm.c``) is built again with ``-fsanitize=address,undefined`` into a copy
of the package in a temporary folder, and the test files that reach it run against that copy, with the
sanitizers' runtime preloaded into Python (which is not built with them). Any out-of-bounds access,
use after free or undefined behaviour in the kernel aborts the run with the sanitizer's report.

    python tests/run_sanitized.py [pytest options, or test files in place of the kernel's]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Every test that reaches the kernel: the kNN functions' (each instruction set's copy of each kernel in
#: test_kernel_isa.py) and network inference's, whose prepared conditions run the listed kernel.
KERNEL_TESTS = ["tests/functional/knn", "tests/network"]
FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g", "-O1"]


def _runtime(name: str) -> str:
    path = subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    if not os.path.isabs(path):
        raise SystemExit(f"gcc has no {name}: install gcc's sanitizer runtime (Debian: libasan, libubsan)")
    return path


def main(args: list[str]) -> int:
    if shutil.which("gcc") is None:
        raise SystemExit("the sanitizer run needs gcc")
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "iblearn"
        skip = shutil.ignore_patterns("*.so", "__pycache__")
        shutil.copytree(ROOT / "src" / "iblearn", package, ignore=skip)
        source = package / "functional" / "knn" / "_maxnorm.c"
        target = source.with_name("_maxnorm" + sysconfig.get_config_var("EXT_SUFFIX"))
        include = sysconfig.get_paths()["include"]
        cmd = ["gcc", "-shared", "-fPIC", "-std=c11", *FLAGS, f"-I{include}", str(source), "-o", str(target)]
        subprocess.run(cmd, check=True)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([tmp, str(ROOT)]),
            "LD_PRELOAD": " ".join([_runtime("libasan.so"), _runtime("libubsan.so")]),
            # Python and torch keep memory until exit on purpose, and torch frees some of its own with a
            # mismatched operator: neither is the kernel's.
            "ASAN_OPTIONS": "detect_leaks=0:alloc_dealloc_mismatch=0:abort_on_error=1",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
        }
        probe = (
            "import iblearn.functional.knn.neighbors as n; assert n.HAVE_KERNEL; print(n._maxnorm.__file__)"
        )
        where = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
        if where.returncode != 0 or not where.stdout.startswith(tmp):
            sys.stderr.write(where.stdout + where.stderr)
            raise SystemExit("the sanitized kernel did not load")
        print(f"sanitized kernel: {where.stdout.strip()}", flush=True)
        # --capture=sys: the sanitizers write their report to file descriptor 2, which must stay the terminal.
        pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--capture=sys"]
        paths = [] if any(a.endswith(".py") or "::" in a or Path(a).is_dir() for a in args) else KERNEL_TESTS
        return subprocess.run([*pytest, *paths, *args], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
