"""Data as the libraries of its users hold it, read as samples with their names: Polars (and any frame
narwhals knows) by column, an xarray ``DataArray`` by its named dimensions, MNE ``Raw`` and ``Epochs`` by
channel, AnnData by gene.

A library is imported only when an object of it arrives (its type's module names it), so ``import
iblearn`` imports none of them; a reader that needs a package that is missing raises an ``ImportError``
naming the extra that installs it (``pip install 'iblearn[neuro]'``).

Two shapes come out. :func:`library_samples`: one ``(N, d)`` (or ``(N,)``) array of samples as rows,
with the name of each column, for :func:`iblearn.estimate`. :func:`library_trials`: trials of
``(T_r, P)`` arrays, time steps as rows and one process a column, with the processes' names, for
:func:`iblearn.network.infer_network`.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

__all__ = [
    "EXTRAS",
    "library",
    "library_samples",
    "library_series_trials",
    "library_trials",
    "require",
    "sparse_samples",
]

#: The extra that installs each library read here.
EXTRAS = {
    "polars": "frames",
    "narwhals": "frames",
    "pyarrow": "frames",
    "xarray": "neuro",
    "mne": "neuro",
    "anndata": "genes",
}
# A DataArray's dimensions by what they hold, lower case (frites and MNE's xarray exports name them so).
TIME_DIMS = ("time", "times", "t", "sample", "samples", "step", "steps")
PROCESS_DIMS = ("channel", "channels", "ch", "process", "processes", "variable", "variables", "node", "nodes")
TRIAL_DIMS = ("trial", "trials", "epoch", "epochs", "replication", "replications")


def library(value: Any) -> str | None:
    """The library of :data:`EXTRAS` that ``value``'s type comes from, or None (read from the type's
    module: nothing is imported)."""
    top = type(value).__module__.split(".")[0]
    return top if top in EXTRAS else None


def require(module: str, what: str) -> Any:
    """``module`` imported, or an ImportError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        extra = EXTRAS[module]
        raise ImportError(f"{what} needs {module}: pip install 'iblearn[{extra}]'") from err


def frame_columns(value: Any, name: str) -> tuple[list[np.ndarray], list[str], list[str]] | None:
    """A frame or series narwhals reads (Polars, PyArrow, ...) as its columns: numpy arrays, their names
    and each one's kind (``"names"`` for text, booleans and unordered categories, ``"enum"``'s codes in
    the order of its categories, ``"numbers"``); None where ``value`` is not one."""
    lib = library(value)
    if lib not in ("polars", "pyarrow", "narwhals"):
        return None
    if type(value).__name__ == "LazyFrame":
        raise ValueError(f"{name}: a Polars LazyFrame holds no rows until collected; pass lazy.collect()")
    nw = require("narwhals", f"{name}: reading a {type(value).__name__}")
    frame = nw.from_native(value, eager_only=True, allow_series=True, pass_through=True)
    if isinstance(frame, nw.Series):
        series = [frame]
    elif isinstance(frame, nw.DataFrame):
        series = [frame[c] for c in frame.columns]
    else:
        return None
    arrays, names, kinds = [], [], []
    for s in series:
        dtype = s.dtype
        if dtype == nw.Enum:
            order = {v: i for i, v in enumerate(dtype.categories)}
            arrays.append(np.asarray([order.get(v, -1) if v is not None else -1 for v in s.to_list()]))
            kinds.append("enum")
        elif dtype in (nw.String, nw.Categorical, nw.Boolean, nw.Object):
            arrays.append(np.asarray(s.to_list(), dtype=object))
            kinds.append("names")
        else:
            arrays.append(s.to_numpy())
            kinds.append("numbers")
        names.append(str(s.name) if s.name is not None else name)
    return arrays, names, kinds


def library_samples(
    value: Any, name: str, *, layer: str | None = None, picks: Any = None
) -> tuple[Any, list[str] | None] | None:
    """An xarray ``DataArray``, an MNE ``Raw``/``Epochs`` or an ``AnnData`` as ``(N, d)`` samples and the
    name of each column; None for anything else.

    A ``DataArray`` whose dimensions name time, the channels and optionally the trials (as
    :func:`library_trials` finds them; any other of length 1 dropped) gives one row a time point of a
    trial and one column a channel, in any order of its dimensions; any other gives one row a time
    point or sample where one of its two dimensions names them, else its first dimension, its column
    names the other dimension's coordinate. ``Raw`` gives one row a
    time point, one column a channel (those ``picks`` selects; None: the data channels, bad ones left
    out), the spans annotated bad left out; ``Epochs`` the same with every epoch's time points one
    after another; ``AnnData`` its ``.X``
    (or the layer ``layer``), one row a cell and one column a gene (``var_names``), a sparse matrix
    made dense.

    Raises:
        ValueError: naming ``layer`` where it is not among the AnnData's layers.
    """
    lib = library(value)
    if lib == "xarray":
        value = _one_array(value, name)
        dims = tuple(str(d) for d in value.dims)
        if _find(dims, TIME_DIMS) and _find(dims, PROCESS_DIMS):  # read by name, or refused naming them
            trials, names = _xarray_trials(value, name)
            return np.concatenate(trials, axis=0), names
        if value.ndim == 2 and len(_find(dims, TIME_DIMS)) == 1:  # time or samples as rows, in any order
            value = value.transpose(_find(dims, TIME_DIMS)[0], ...)
        names = _coordinate(value, value.dims[-1]) if value.ndim == 2 else None
        if value.ndim == 1 and value.name is not None:
            names = [str(value.name)]
        return np.asarray(value.values), names
    if lib == "mne":
        trials, names = _mne_trials(value, name, picks)
        return np.concatenate(trials, axis=0), names
    if lib == "anndata":
        return _dense(anndata_matrix(value, name, layer)), [str(v) for v in value.var_names]
    return None


def sparse_samples(value: Any, name: str, *, layer: str | None = None) -> tuple[Any, list[str] | None] | None:
    """A scipy sparse matrix, or an ``AnnData`` whose ``.X`` (or layer ``layer``) is one, as stored:
    ``(N, d)`` samples as rows in CSC form (whose column blocks are cheap to cut), never made dense,
    with the genes' names; None for anything else."""
    matrix = value
    if library(value) == "anndata":
        matrix = anndata_matrix(value, name, layer)
    if not (hasattr(matrix, "tocsc") and hasattr(matrix, "nnz")):
        return None
    names = [str(v) for v in value.var_names] if matrix is not value else None
    return matrix.tocsc(), names


def anndata_matrix(adata: Any, name: str, layer: str | None) -> Any:
    """An AnnData's ``.X``, or its layer ``layer``, as stored (dense or sparse)."""
    if layer is not None:
        if layer not in adata.layers:
            raise ValueError(
                f"layer: {layer!r} is not among {name}.layers ({', '.join(adata.layers) or 'none'})"
            )
        return adata.layers[layer]
    if adata.X is None:
        raise ValueError(
            f"{name}: the AnnData holds no .X; pass the layer meant (layer=, or adata.layers[key])"
        )
    return adata.X


def library_trials(
    value: Any, name: str, picks: Any = None
) -> tuple[list[np.ndarray], list[str] | None] | None:
    """An xarray ``DataArray`` (dimensions named time, channel and optionally trial, in any order) or an
    MNE ``Raw``/``Epochs`` (the channels ``picks`` selects; a ``Raw``'s trials the stretches between
    its spans annotated bad) as trials of ``(T_r, P)`` and the processes' names; None for anything
    else."""
    lib = library(value)
    if picks is not None and lib != "mne":
        raise ValueError(f"picks: selects the channels of an MNE Raw or Epochs, got a {type(value).__name__}")
    if lib == "mne":
        return _mne_trials(value, name, picks)
    if lib == "xarray":
        return _xarray_trials(_one_array(value, name), name)
    return None


def library_series_trials(
    value: Any, name: str, *, several: bool = False
) -> tuple[list[np.ndarray], list[str] | None] | None:
    """The trials of one recorded process: an xarray ``DataArray`` with a trial dimension and a time
    dimension (a channel dimension, and any other, of length 1 dropped), or an MNE ``Epochs`` of one
    channel (MNE's data channels, bad ones left out), or a ``Raw`` of one channel with spans annotated
    bad (one trial a stretch between them), as ``(T_r,)`` arrays, one an epoch or a stretch, with the
    process's name; with ``several``, of any channels, as ``(T_r, P)`` arrays. None for anything else
    (a DataArray without a trial dimension, a ``Raw`` with no span annotated bad).

    Raises:
        ValueError: naming ``name`` where it holds several channels and ``several`` is not set.
    """
    lib = library(value)
    if lib == "xarray" and type(value).__name__ == "DataArray":
        dims = tuple(str(d) for d in value.dims)
        trial, time, process = _find(dims, TRIAL_DIMS), _find(dims, TIME_DIMS), _find(dims, PROCESS_DIMS)
        if len(trial) != 1 or len(time) != 1:
            return None
        single = [d for d in dims if d not in trial + time + process[:1] and value.sizes[d] == 1]
        value = value.squeeze(single, drop=False)
        names = None
        if process:
            names = _coordinate(value, process[0])
            if value.sizes[process[0]] == 1 or several:
                value = value.transpose(trial[0], time[0], process[0])
            else:
                raise ValueError(
                    f"{name}: a DataArray of {value.sizes[process[0]]} processes along {process[0]!r}; a "
                    f"series is one process: select one, e.g. {name}.sel({process[0]}=...)"
                )
        else:  # a process selected, e.g. da.sel(channel="x"), keeps its label as a scalar coordinate
            label = [str(value[c].item()) for c in value.coords if str(c).lower() in PROCESS_DIMS]
            label += [] if value.name is None else [str(value.name)]
            names = label[:1] or None
        if value.ndim != 2 + bool(process):
            return None
        values = np.asarray(value.transpose(trial[0], time[0], ...).values)
        trials = [
            v if several else v.reshape(len(v)) for v in (values if values.ndim == 3 else values[..., None])
        ]
        return trials, names
    if lib != "mne":
        return None
    mne = require("mne", f"{name}: reading a {type(value).__name__}")
    if not isinstance(value, mne.BaseEpochs | mne.io.BaseRaw):
        return None
    epochs, names = _mne_trials(value, name, None)
    if len(epochs) == 1 and isinstance(value, mne.io.BaseRaw):  # no span annotated bad: one series
        return None
    if len(names) != 1 and not several:
        raise ValueError(
            f"{name}: a {type(value).__name__} of {len(names)} channels; a series is one process: pick "
            f"one, e.g. {name}.copy().pick([{names[0]!r}])"
        )
    return [e if several else e[:, 0] for e in epochs], names


def _one_array(value: Any, name: str) -> Any:
    """``value``, refusing an xarray ``Dataset`` (many variables, which one is meant is the caller's),
    without the dimensions of length 1 beside time, the processes and the trials (a frequency band,
    a condition selected), which hold no samples."""
    if type(value).__name__ == "Dataset":
        variables = ", ".join(map(str, list(value.data_vars)[:4]))
        raise ValueError(
            f"{name}: an xarray Dataset holds several variables ({variables}); pass one: ds[name]"
        )
    known = TIME_DIMS + PROCESS_DIMS + TRIAL_DIMS
    single = [d for d in value.dims if str(d).lower() not in known and value.sizes[d] == 1]
    if single and _has_trial_dims(value.squeeze(single, drop=True)):
        return value.squeeze(single, drop=True)
    return value


def _coordinate(array: Any, dim: str) -> list[str] | None:
    """The labels of ``array``'s dimension ``dim`` as text, None where it has no coordinate."""
    return [str(v) for v in array[dim].values.tolist()] if dim in array.coords else None


def _find(dims: tuple[str, ...], known: tuple[str, ...]) -> list[str]:
    return [d for d in dims if str(d).lower() in known]


def _has_trial_dims(array: Any) -> bool:
    """Whether ``array``'s dimensions are time, the processes and optionally the trials, one each."""
    dims = tuple(str(d) for d in array.dims)
    time, process, trial = _find(dims, TIME_DIMS), _find(dims, PROCESS_DIMS), _find(dims, TRIAL_DIMS)
    return len(time) == 1 and len(process) == 1 and len(trial) <= 1 and len(dims) == 2 + len(trial)


def _xarray_trials(array: Any, name: str) -> tuple[list[np.ndarray], list[str] | None]:
    """A DataArray's trials, each ``(time, process)``, found by the names of its dimensions."""
    dims = tuple(str(d) for d in array.dims)
    time, process, trial = _find(dims, TIME_DIMS), _find(dims, PROCESS_DIMS), _find(dims, TRIAL_DIMS)
    unknown = [d for d in dims if d not in time + process + trial]
    if len(time) != 1 or len(process) != 1 or len(trial) > 1 or unknown:
        raise ValueError(
            f"{name}: a DataArray's dimensions name time ({', '.join(TIME_DIMS[:2])}), the processes "
            f"({', '.join(PROCESS_DIMS[:4])}) and optionally the trials ({', '.join(TRIAL_DIMS[:4])}), "
            f"one each; got dims {dims}"
        )
    order = trial + time + process
    values = np.asarray(array.transpose(*order).values)
    trials = list(values) if trial else [values]
    return trials, _coordinate(array, process[0])


def _mne_trials(inst: Any, name: str, picks: Any) -> tuple[list[np.ndarray], list[str]]:
    """An MNE ``Raw`` (one trial a stretch between the spans annotated bad) or ``Epochs`` (one trial an
    epoch; those dropped left out) as ``(time, channel)`` arrays, the channels ``picks`` selects (None:
    MNE's data channels, those marked bad left out)."""
    mne = require("mne", f"{name}: reading a {type(inst).__name__}")
    if not isinstance(inst, mne.io.BaseRaw | mne.BaseEpochs):
        raise ValueError(f"{name}: reads an MNE Raw or Epochs, got a {type(inst).__name__}")
    picked = inst.copy()
    if isinstance(picked, mne.BaseEpochs):
        picked.drop_bad(verbose="error")  # an Epochs not yet loaded drops its bad epochs here
        if len(picked) == 0:
            raise ValueError(f"{name}: the Epochs hold no epoch (all dropped; see its drop_log)")
        picked.load_data()  # MNE picks channels of loaded epochs only
    try:
        picked.pick("data", exclude="bads") if picks is None else picked.pick(picks)
    except ValueError as err:
        if picks is not None:
            raise ValueError(f"picks: {err}") from err
        bads = ", ".join(inst.info["bads"]) or "none"
        raise ValueError(
            f"{name}: has no data channel to read (marked bad: {bads}); pass picks=, or clear info['bads']"
        ) from err
    data = picked.get_data()
    if data.ndim == 3:
        return [epoch.T for epoch in data], list(picked.ch_names)
    return [data[:, a:b].T for a, b in _good_spans(picked, name)], list(picked.ch_names)


def _good_spans(raw: Any, name: str) -> list[tuple[int, int]]:
    """The stretches of ``raw``'s samples outside its spans annotated bad (MNE's ``BAD_...``
    descriptions), as start and stop indices."""
    if not len(raw.annotations):
        return [(0, raw.n_times)]
    marked = np.isnan(raw.get_data(picks=[0], reject_by_annotation="NaN")[0])
    marked &= ~np.isnan(raw.get_data(picks=[0])[0])  # NaN in the recording itself is the data's
    edges = np.flatnonzero(np.diff(np.r_[0, (~marked).astype(np.int8), 0]))
    if not len(edges):
        raise ValueError(f"{name}: every sample lies in a span annotated bad; there is nothing to read")
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _dense(matrix: Any) -> np.ndarray:
    """``matrix`` as a dense numpy array (a scipy sparse matrix made dense)."""
    return np.asarray(matrix.toarray() if hasattr(matrix, "toarray") else matrix)
