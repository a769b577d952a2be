"""infer_network's result does not depend on the jobs that run it, resumes from a checkpoint, and its
targets run apart (one call a job of a job array, into one checkpoint folder) and merged by a call on
all targets are the same network as one call."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pytest
import torch

from iblearn.functional import ksg_cmi, ksg_mi
from iblearn.functional.cmi_surrogates import KSGCMI, surrogates
from iblearn.network import infer_network
from iblearn.network import target as target_module
from iblearn.network.embedding import embed
from iblearn.network.simulate import random_var_network
from iblearn.network.target import Settings, infer_target

# Few surrogates for the targets keep these tests fast; the warning that says so is tested on its own.
pytestmark = pytest.mark.filterwarnings("ignore:n_permutations:UserWarning")


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return random_var_network(5, 800, seed=3).data


def _run(data, **kwargs):
    return infer_network(data, max_lag=2, method="gaussian", n_permutations=120, **kwargs)


def test_the_same_result_bit_for_bit_on_threads(data):
    serial = _run(data)
    with joblib.parallel_config(backend="threading", n_jobs=2):
        assert _run(data) == serial


@pytest.mark.slow
def test_the_same_result_bit_for_bit_in_processes(data):
    assert _run(data, n_jobs=2) == _run(data)


def test_surrogates_are_drawn_per_seed_target_step_and_candidate():
    keys = [
        (0, 1, 1, 2, 3),
        (1, 1, 1, 2, 3),
        (0, 2, 1, 2, 3),
        (0, 1, 2, 2, 3),
        (0, 1, 1, 0, 3),
        (0, 1, 1, 2, 1),
    ]
    draws = [surrogates((500,), 20, "shift", key).draws for key in keys]
    assert all(not np.array_equal(draws[0], d) for d in draws[1:])
    assert np.array_equal(draws[0], surrogates((500,), 20, "shift", keys[0]).draws)


@pytest.mark.slow
def test_ksg_the_same_whatever_the_jobs():
    x = random_var_network(3, 300, seed=12).data
    kwargs = dict(max_lag=1, method="ksg", n_permutations=20, alpha=0.1)
    assert infer_network(x, **kwargs, n_jobs=2) == infer_network(x, **kwargs)


def test_resumes_from_a_partial_checkpoint(data, tmp_path):
    folder = tmp_path / "run"
    full = _run(data, checkpoint=folder)
    files = sorted(p.name for p in folder.glob("target_*.json"))
    assert files == [f"target_{j}.json" for j in range(5)]
    # A run stopped after two targets: the others' files are not there, and the finished ones are read
    # back rather than run again (a marked value shows it).
    for j in (2, 3, 4):
        (folder / f"target_{j}.json").unlink()
    saved = json.loads((folder / "target_0.json").read_text())
    saved["omnibus_te"] = 123.0
    (folder / "target_0.json").write_text(json.dumps(saved))
    resumed = _run(data, checkpoint=folder)
    assert resumed.targets[0].omnibus_te == 123.0
    assert resumed.targets[1:] == full.targets[1:]
    assert (folder / "target_4.json").exists()


def test_a_checkpoint_of_other_settings_is_refused(data, tmp_path):
    _run(data, checkpoint=tmp_path)
    with pytest.raises(ValueError, match=r"^checkpoint"):
        _run(data, seed=5, checkpoint=tmp_path)


def test_progress_prints_a_line_per_target(data, capsys):
    _run(data, progress=True)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 5 and lines[-1].startswith("target 4:") and "5/5 targets" in lines[-1]


class _PublicKSG(KSGCMI):
    """The KSG engine through the public, fully checked estimators, one call per estimate."""

    def value(self, cond, c):
        rc = torch.from_numpy(np.ascontiguousarray(cond.residual(c.reshape(len(c), -1))))
        ry = torch.from_numpy(np.ascontiguousarray(cond.target.reshape(-1, 1)))
        if cond.z.shape[1] == 0:
            return float(ksg_mi(rc, ry, self.k))
        return float(ksg_cmi(rc, ry, torch.from_numpy(np.ascontiguousarray(cond.z)), self.k))

    def values(self, cond, c, plan, which):
        return np.array([self.value(cond, sample) for sample in plan.take(c, which)])


def test_ksg_target_is_the_public_estimators_bit_for_bit(monkeypatch):
    """The engine's fast path (checks once, layouts shared across candidates, a candidate's surrogates
    estimated together) changes no number of a target's search, and neither do the blocks the tests
    ask for surrogates in (one at a time, as the public estimators run here, or all at once)."""
    emb = embed([random_var_network(3, 200, seed=4, nonlinear=1).data], 2)
    st = Settings(1, 2, "ksg", 20, 0.05, 0, "shift")
    fast = infer_target(emb, 0, st)
    for block in (1, 1000):
        monkeypatch.setattr(target_module, "BLOCK", block)
        assert infer_target(emb, 0, st) == fast
    monkeypatch.setattr(target_module, "BLOCK", 1)
    monkeypatch.setattr(target_module, "engine", lambda method, device=None: _PublicKSG())
    assert infer_target(emb, 0, st) == fast
    assert fast.sources


def _edit(d, **fields):
    d.update(fields)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: _edit(d, sources=[[99, 1]]),  # a process that does not exist
        lambda d: _edit(d, sources=[[-1, 1]]),
        lambda d: _edit(d, sources=[[1, 1]]),  # target 1 as its own source
        lambda d: _edit(d, sources=[[0, 99]]),  # a lag beyond max_lag
        lambda d: _edit(d, sources=[[0, 1], [0, 1]], te=[0.1, 0.1], p_values=[0.1, 0.1]),
        lambda d: _edit(d, target=2),
        lambda d: _edit(d, past=[7]),
        lambda d: _edit(d, omnibus_p=1.5),
        lambda d: _edit(d, p_values=[0.5] * len(d["sources"])),  # no multiple of 1 / 121
        lambda d: _edit(d, te=[float("nan")] * len(d["sources"])),
        lambda d: _edit(d, te=[]),
        lambda d: d.pop("omnibus_te"),
        lambda d: d.pop("key"),
        lambda d: _edit(d, key="0" * 64),
    ],
)
def test_an_edited_target_file_is_refused_naming_it(data, tmp_path, edit):
    _run(data, checkpoint=tmp_path)
    path = tmp_path / "target_1.json"
    saved = json.loads(path.read_text())
    assert saved["sources"], "the edits need a target with sources"
    edit(saved)
    path.write_text(json.dumps(saved))
    with pytest.raises(ValueError, match=r"^checkpoint: .*target_1\.json"):
        _run(data, checkpoint=tmp_path)


def test_target_files_are_bound_to_their_run(data, tmp_path):
    _run(data, checkpoint=tmp_path / "a")
    other = data + 0.01 * np.random.default_rng(0).standard_normal(data.shape)
    _run(other, checkpoint=tmp_path / "b")
    # The key deleted: a folder of files no run of these data made is refused, not read.
    (tmp_path / "a" / "key").unlink()
    with pytest.raises(ValueError, match=r"^checkpoint: .*no 'key' file"):
        _run(other, checkpoint=tmp_path / "a")
    # Another run's target file copied into this run's folder: refused by the key it carries.
    (tmp_path / "b" / "target_2.json").write_bytes((tmp_path / "a" / "target_2.json").read_bytes())
    with pytest.raises(ValueError, match=r"target_2\.json does not carry this run's key"):
        _run(other, checkpoint=tmp_path / "b")


@pytest.mark.parametrize("path", ["", b"run", 7])
def test_a_checkpoint_that_is_no_folder_path_is_refused(data, path):
    with pytest.raises(ValueError, match=r"^checkpoint: expected a folder's path"):
        _run(data, checkpoint=path)


def test_targets_run_apart_then_merged_equal_one_call(data, tmp_path):
    whole = _run(data, fdr=False)
    assert whole.edges, "the comparison needs a network with edges"
    first = _run(data, targets=[4, 1], checkpoint=tmp_path, fdr=False)
    second = _run(data, targets=[0, 2], checkpoint=tmp_path, fdr=False)
    assert sorted(p.name for p in tmp_path.glob("target_*.json")) == [
        f"target_{j}.json" for j in (0, 1, 2, 4)
    ]
    # Each partial result holds its own targets, in order, with no edge until the correction.
    assert [t.target for t in first.targets] == [1, 4] and [t.target for t in second.targets] == [0, 2]
    assert first.targets == (whole.targets[1], whole.targets[4])
    assert not first.complete and first.edges == [] and not any(first.significant)
    merged = _run(data, checkpoint=tmp_path, fdr=False)  # runs target 3, reads the others back
    assert merged.complete and merged == whole
    assert merged.edges == whole.edges and merged.edge_te == whole.edge_te


def test_the_merge_reads_the_stored_targets_back_rather_than_running_them(data, tmp_path):
    _run(data, targets=[0, 1, 2, 3], checkpoint=tmp_path)
    path = tmp_path / "target_2.json"
    saved = json.loads(path.read_text())
    saved["omnibus_te"] = 123.0  # a mark: only a target read back carries it
    path.write_text(json.dumps(saved))
    merged = _run(data, checkpoint=tmp_path)
    assert merged.targets[2].omnibus_te == 123.0
    assert (tmp_path / "target_4.json").exists()


def test_the_correction_counts_every_target_and_follows_fdr(data, tmp_path):
    _run(data, targets=[0, 1], checkpoint=tmp_path)
    for fdr in (True, False):
        assert _run(data, checkpoint=tmp_path, fdr=fdr) == _run(data, fdr=fdr)


def test_all_targets_named_give_the_complete_corrected_result(data):
    assert _run(data, targets=[4, 3, 2, 1, 0]) == _run(data)


def test_a_partial_result_says_so_in_its_repr_and_summary(data):
    partial = _run(data, targets=[2])
    text = repr(partial)
    assert "\n" not in text and "partial" in text and "1 of 5 targets" in text
    assert "not corrected" in text
    table = partial.summary()
    assert table.splitlines()[0] == text
    assert len([row for row in table.splitlines() if row.split()[:1] == ["2"]]) == 1


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ([], "no target"),
        ([0, 5], "between 0 and 4"),
        ([-1], "between 0 and 4"),
        ([1, 1], "twice"),
        ([True], "integers"),
        ([1.5], "integers"),
        ("01", "list"),
        (3, "list"),
    ],
)
def test_bad_targets_are_refused_by_name(data, targets, message):
    with pytest.raises(ValueError, match=rf"^targets: .*{message}"):
        _run(data, targets=targets)


def test_jobs_started_at_once_on_an_empty_folder_share_it(tmp_path, monkeypatch):
    """The jobs of an array start together: one finds the folder empty of a key while another is
    writing it (its temporary file there) or has just written it. Neither is another run's folder."""
    from iblearn.records import batches

    writing = tmp_path / "a"
    writing.mkdir()
    (writing / ".key.4242.x1y2.tmp").write_text("half")  # a key another job is writing
    batches.BatchStore(writing, "k" * 64)
    assert (writing / "key").read_text().strip() == "k" * 64

    reads = []

    def key_appears_after_the_first_look(path, read):
        reads.append(path.name)
        if len(reads) == 1:
            (path.parent / "key").write_text(written + "\n")  # another job, just after this one looked
            return None
        return read(path)

    monkeypatch.setattr(batches, "read_checkpoint", key_appears_after_the_first_look)
    for n, written in enumerate(["k" * 64, "f" * 64]):
        reads.clear()
        folder = tmp_path / f"b{n}"
        folder.mkdir()
        if written == "k" * 64:
            batches.BatchStore(folder, "k" * 64)  # the same run: read, not refused
            assert reads == ["key", "key"]
        else:
            with pytest.raises(ValueError, match="another run's"):
                batches.BatchStore(folder, "k" * 64)
