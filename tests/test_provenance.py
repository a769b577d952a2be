"""Every committed results folder says what produced it: the commit it ran at (a ``git_commit`` or
``commit`` in its records, or a table's provenance line), in it or in a folder above it; or a
``provenance.json`` that says what is known of a run that recorded none (``recorded: false``, the dates
from git, never invented values)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = [ROOT / "benchmarks" / "results", ROOT / "docs" / "results"]
DATA = {".json", ".jsonl", ".csv"}
COMMIT = re.compile(r'"(git_)?commit"\s*:\s*"[0-9a-f]{7,40}"|commit [0-9a-f]{7,40}')


def _folders() -> list[Path]:
    """The folders that hold a data file, outside the git-ignored scratch folder."""
    found = set()
    for root in RESULTS:
        for path in root.rglob("*"):
            if path.is_file() and path.suffix in DATA and "_scratch" not in path.relative_to(root).parts:
                found.add(path.parent)
    return sorted(found)


def _records_a_commit(folder: Path) -> bool:
    for path in folder.iterdir():
        if (
            path.is_file()
            and path.suffix in DATA | {".md"}
            and COMMIT.search(path.read_text(errors="replace"))
        ):
            return True
    return False


def _provenance(folder: Path) -> Path | None:
    """The folder's record of what produced it, or its nearest parent's within the results roots."""
    if folder in RESULTS:  # loose files, each on its own (see the test below)
        return folder
    for where in (folder, *folder.parents):
        if where in RESULTS or where == ROOT:
            return None
        if (where / "provenance.json").exists() or _records_a_commit(where):
            return where
    return None


def test_the_folders_are_found():
    assert len(_folders()) > 100


def _loose() -> list[Path]:
    """The data files directly in a results root (not a run's folder), provenance files aside."""
    return sorted(
        p
        for root in RESULTS
        for p in root.iterdir()
        if p.suffix in DATA and not p.name.endswith("provenance.json")
    )


@pytest.mark.parametrize("path", _loose(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_loose_results_file_records_its_provenance(path):
    said = path.with_name(f"{path.stem}.provenance.json")
    assert COMMIT.search(path.read_text(errors="replace")) or said.exists(), (
        f"{path.relative_to(ROOT)}: no commit"
    )


@pytest.mark.parametrize("folder", _folders(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_results_folder_records_its_provenance(folder):
    assert _provenance(folder) is not None, (
        f"{folder.relative_to(ROOT)}: no commit recorded, no provenance.json"
    )


def _unrecorded() -> list[Path]:
    return sorted(
        p
        for root in RESULTS
        for p in root.rglob("*provenance.json")
        if json.loads(p.read_text()).get("recorded") is False
    )


@pytest.mark.parametrize("path", _unrecorded(), ids=lambda p: str(p.parent.relative_to(ROOT)))
def test_a_run_without_provenance_says_so_and_invents_nothing(path):
    record = json.loads(path.read_text())
    assert record["git_commit"] is None and record["machine"] is None and record["date"] is None
    added, changed = (datetime.fromisoformat(record[k]) for k in ("files_added", "files_last_changed"))
    assert added <= changed
    assert record["sources"] and all((ROOT / s).exists() for s in record["sources"])


def test_a_row_records_the_commit_it_ran_at(tmp_path, monkeypatch):
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from benchmarks import truth
    from benchmarks.runners import script

    monkeypatch.setattr(script, "run_commit", lambda: "0123456789abcdef")
    monkeypatch.setattr(script, "machine", lambda: "a CPU (x86_64, 2 CPUs)")
    here = {"commit": "0123456789abcdef", "machine": "a CPU (x86_64, 2 CPUs)"}
    assert script.stamped({"task": "t"}) == {"task": "t", **here}
    earlier = {"commit": "fedcba9", "machine": "another CPU"}  # a row of an earlier run keeps its own
    assert script.stamped({"task": "t", **earlier}) == {"task": "t", **earlier}
    truth.append_row(tmp_path / "rows.jsonl", {"task": "t"})
    assert json.loads((tmp_path / "rows.jsonl").read_text())["commit"] == "0123456789abcdef"


@pytest.fixture
def git(tmp_path):
    """``git(*args)`` in a fresh repository at ``tmp_path``, returning its output."""
    import subprocess

    def run(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=tmp_path, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    run("init", "-q")
    run("config", "user.email", "t@t")
    run("config", "user.name", "t")
    return run


def test_a_page_says_when_the_code_behind_its_figures_changed_since_their_commit(tmp_path, monkeypatch, git):
    from tests.docs_pages import numbers

    (tmp_path / "code.py").write_text("a = 1\n")
    git("add", ".")
    git("commit", "-qm", "code")
    ran_at = git("rev-parse", "HEAD")
    folder = tmp_path / "benchmarks" / "results" / "run"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"environment": {"git_commit": ran_at}}))
    (folder / "sources.json").write_text('["code.py"]')
    (tmp_path / "other.py").write_text("b = 1\n")
    git("add", ".")
    git("commit", "-qm", "results and other code")
    hook = numbers()
    monkeypatch.setattr(hook, "ROOT", tmp_path)
    assert hook.changed_since("benchmarks/results/run/results.json") == ""
    (tmp_path / "code.py").write_text("a = 2\n")
    git("commit", "-qam", "the code changes")
    hook._load.cache_clear()
    note = hook.changed_since("benchmarks/results/run/results.json")
    assert f"has changed since commit {ran_at[:7]}" in note and "`code.py`" in note


def test_figures_of_several_runs_are_compared_from_the_first_runs_commit(tmp_path, monkeypatch, git):
    """A folder whose runs each record a commit (the ground-truth rows) gets its note from the first."""
    from tests.docs_pages import numbers

    shas = []
    for value in (1, 2):
        (tmp_path / "code.py").write_text(f"a = {value}\n")
        git("add", ".")
        git("commit", "-qm", f"code {value}")
        shas.append(git("rev-parse", "HEAD"))
    folder = tmp_path / "benchmarks" / "results" / "run"
    folder.mkdir(parents=True)
    runs = [{"git_commit": sha} for sha in shas]
    (folder / "provenance.json").write_text(json.dumps({"runs": runs}))
    (folder / "sources.json").write_text('["code.py"]')
    hook = numbers()
    monkeypatch.setattr(hook, "ROOT", tmp_path)
    assert hook.commit("benchmarks/results/run/provenance.json") == f"{shas[0][:7]}, {shas[1][:7]}"
    note = hook.changed_since("benchmarks/results/run/provenance.json")
    assert f"since commit {shas[0][:7]} (1 commit(s)" in note and "the 2 commits they ran at" in note


def test_runs_that_name_their_sources_are_each_compared_to_their_own(tmp_path, monkeypatch, git):
    """A folder of peers' rows (run once, their own runner) and iblearn's rows (run again): the note
    follows each group of runs from its own first commit, and a run whose rows were all measured again
    (empty sources) counts for nothing."""
    from tests.docs_pages import numbers

    def commit(message: str, **files: str) -> str:
        for name, text in files.items():
            (tmp_path / name).write_text(text)
        git("add", ".")
        git("commit", "-qm", message)
        return git("rev-parse", "HEAD")

    first = commit("first", **{"code.py": "a = 1\n", "peer.py": "p = 1\n"})
    peers = commit("code changes", **{"code.py": "a = 2\n"})
    ours = commit("more code", **{"code.py": "a = 3\n"})
    folder = tmp_path / "benchmarks" / "results" / "run"
    folder.mkdir(parents=True)
    runs = [
        {"git_commit": first, "sources": []},
        {"git_commit": peers, "sources": ["peer.py"]},
        {"git_commit": ours},  # the folder's sources.json
    ]
    (folder / "config.json").write_text(json.dumps({"runs": runs}))
    (folder / "summary.json").write_text(json.dumps({"rows": [{"commit": first}]}))
    (folder / "sources.json").write_text('["code.py"]')
    commit("results")
    hook = numbers()
    monkeypatch.setattr(hook, "ROOT", tmp_path)
    path = "benchmarks/results/run/summary.json"
    assert hook.changed_since(path) == ""  # by the rows' first commit, code.py changed twice since
    commit("the peers' runner changes", **{"peer.py": "p = 2\n"})
    note = hook.changed_since(path)
    assert f"since commit {peers[:7]} (1 commit(s) to `peer.py`)" in note and "code.py" not in note
    commit("the code changes", **{"code.py": "a = 4\n"})
    note = hook.changed_since(path)
    assert "`peer.py`" in note and f"since commit {ours[:7]} (1 commit(s) to `code.py`)" in note
    # a record of the folder that names one commit of its own (a figure script's) is compared from it
    (folder / "figures.json").write_text(json.dumps({"provenance": {"git_commit": first}}))
    note = hook.changed_since("benchmarks/results/run/figures.json")
    assert f"since commit {first[:7]} (3 commit(s) to `code.py`)" in note and "peer.py" not in note


def test_a_run_records_the_sources_of_its_rows():
    """truth.py and network.py name, per run, the code behind the rows it writes: iblearn's in the
    folder's sources.json, the peers' their runner's."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from benchmarks import network, truth

    results = ROOT / "benchmarks" / "results"
    for script, ours, theirs in ((truth, "iblearn KSG", "NPEET-plus"), (network, "iblearn-ksg", "idtxl")):
        listed = json.loads((results / script.__name__.split(".")[-1] / "sources.json").read_text())
        assert script.run_sources([ours]) == listed
        assert script.run_sources([theirs]) == list(script.PEER_SOURCES)
        assert script.run_sources([ours, theirs]) == listed + [
            s for s in script.PEER_SOURCES if s not in listed
        ]
        assert script.run_sources([]) == []
        assert all((ROOT / s).exists() for s in script.PEER_SOURCES)


@pytest.mark.parametrize("folder", ["calibration", "truth"])
def test_a_sourced_results_folder_lists_existing_sources_and_its_page_notes_changes(folder):
    sources = json.loads((ROOT / "benchmarks" / "results" / folder / "sources.json").read_text())
    assert sources and all((ROOT / s).exists() for s in sources)
    page = (ROOT / "docs" / "benchmarks" / f"{folder}.md").read_text()
    assert f'changed_since("benchmarks/results/{folder}/' in page


def test_the_automatic_estimates_rows_name_their_sources_and_both_pages_note_changes():
    """benchmarks/auto.py writes the code behind its rows beside them; the guide and the benchmarks
    page render those rows and say when that code has changed since their commits."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from benchmarks import auto

    listed = json.loads((ROOT / "benchmarks" / "results" / "auto" / "sources.json").read_text())
    assert listed == auto.SOURCES and all((ROOT / s).exists() for s in listed)
    for page in ("benchmarks.md", "guide/auto.md"):
        assert 'changed_since("benchmarks/results/auto/rows.jsonl")' in (ROOT / "docs" / page).read_text()


def test_a_record_names_the_cpu_model_beside_the_kernels_instruction_set():
    """Speed figures differ by processor (AVX-512 or AVX2, Intel or AMD): every record says which."""
    from iblearn._provenance import cpu_model, environment

    env = environment()
    assert env["cpu"] == cpu_model() and "kernel_isa" in env
    if Path("/proc/cpuinfo").exists():
        assert env["cpu"] and env["cpu"].split(" (family")[0] in Path("/proc/cpuinfo").read_text()


def test_the_cpu_model_tells_processors_of_one_name_apart(tmp_path):
    from iblearn._provenance import cpu_model

    block = (
        "processor\t: {}\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: {}\n"
        "model name\t: AMD EPYC\n\n"
    )
    info = tmp_path / "cpuinfo"
    info.write_text(block.format(0, 1) + block.format(1, 17))  # the first processor's block counts
    assert cpu_model(info) == "AMD EPYC (family 25, model 1)"
    info.write_text("processor\t: 0\nmodel name\t: Some CPU\n")
    assert cpu_model(info) == "Some CPU"
    info.write_text("processor\t: 0\nCPU implementer\t: 0x41\n")
    assert cpu_model(info) is None
    assert cpu_model(tmp_path / "absent") is None
