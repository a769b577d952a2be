"""infer_network's targets run apart (one call a job of a job array, into one checkpoint folder) and
merged by a call on all targets: the same network as one call."""

from __future__ import annotations

import json

import numpy as np
import pytest

from iblearn.network import infer_network
from iblearn.network.simulate import random_var_network

# Few surrogates for the targets keep these tests fast; the warning that says so is tested on its own.
pytestmark = pytest.mark.filterwarnings("ignore:n_permutations:UserWarning")


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return random_var_network(5, 800, seed=3).data


def _run(data, **kwargs):
    return infer_network(data, max_lag=2, method="gaussian", n_permutations=120, **kwargs)


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
