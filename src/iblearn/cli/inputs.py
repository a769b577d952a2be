"""What the ``iblearn`` command is handed: sample files, their columns (numbers, or class labels as
integer codes), ``KEY=VALUE`` settings and config files.

Reading them imports numpy and torch inside the functions (see :mod:`iblearn.cli`).
"""

from __future__ import annotations

import argparse
import csv
import difflib
import functools
import itertools
import json
import pickle
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from rich.markup import escape

from iblearn.cli.console import err

#: Sample files larger than this many megabytes (10^6 bytes) are refused unless ``--max-mb`` says more:
#: a table's numbers take 8 bytes each in memory, often more than their text in the file.
MAX_MB = 1000.0
#: The longest line a table may have, in bytes: one line is split into fields at once.
MAX_LINE = 1_000_000
#: The suffixes of sample files.
SAMPLE_SUFFIXES = (".npy", ".pt", ".csv", ".txt")
# A number written with a decimal comma ("1,5", "-0,25"), which float() does not read.
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")


@dataclass(frozen=True)
class Samples:
    """Samples read from a file: ``values`` (a numpy array, or a tensor from a .pt file), the picked
    columns for messages (a header name quoted, ``"'age'"``, else the index, ``"3"``; none for a whole
    array), and ``text``, whether a picked column held names (class labels, as integer codes in sorted
    order)."""

    values: Any
    columns: list[str] = field(default_factory=list)
    text: bool = False

    @property
    def names(self) -> tuple[str, ...] | None:
        """The picked columns' header names, None where the file has none (an array, a table with no
        header line): what the estimate names its variable by."""
        if not self.columns or not all(len(c) > 1 and c[0] == c[-1] == "'" for c in self.columns):
            return None
        return tuple(c[1:-1] for c in self.columns)


def regular_file(path: str | Path, name: str) -> Path:
    """``path`` if it is a regular file, else a ValueError naming ``name`` that says what is there:
    nothing, or a folder, a pipe or a device (which would block or never end if read)."""
    p = Path(path)
    if p.is_file():
        return p
    if not p.exists():
        raise ValueError(f"{name}: no such file {str(path)!r}")
    kind = "a folder" if p.is_dir() else "a named pipe (FIFO)" if p.is_fifo() else "not a regular file"
    raise ValueError(f"{name}: {str(path)!r} is {kind}; give a regular file")


def load_samples(
    path: str,
    name: str,
    cols: str | None = None,
    exclude: Sequence[tuple[str, str]] = (),
    max_mb: float = MAX_MB,
) -> Samples:
    """Samples from .npy (no pickles), .csv/.txt (a header line of column names is optional), or .pt
    (tensors only). ``cols`` picks columns (:func:`_column_indices`), e.g. ``"age,2"``; ``exclude``
    takes all columns but those, as ``(cols, option)`` pairs. A file above ``max_mb`` megabytes is
    refused."""
    import numpy as np
    import torch

    p = regular_file(path, name)
    if p.suffix not in SAMPLE_SUFFIXES:
        raise ValueError(f"{name}: unsupported file type {p.suffix!r}; use .npy, .csv, .txt or .pt")
    size = p.stat().st_size
    if size > max_mb * 1e6:
        raise ValueError(
            f"{name}: {path!r} holds {size / 1e6:,.1f} MB, above the limit of {max_mb:g} MB (--max-mb); "
            "give a larger --max-mb to read it, with memory for about 8 bytes a number"
        )
    if p.suffix in (".csv", ".txt"):
        return _read_table(p, name, cols, exclude)
    try:
        if p.suffix == ".npy":
            data = np.load(p, allow_pickle=False)
        else:
            data = torch.load(p, map_location="cpu", weights_only=True)
    except (OSError, ValueError, RuntimeError, EOFError, pickle.UnpicklingError) as e:
        # EOFError: an empty .npy; UnpicklingError: a .pt that holds more than tensors (weights_only)
        if "allow_pickle" in str(e):  # an array of dtype object: np.save pickles its items
            raise ValueError(
                f"{name}: {path!r} holds Python objects (dtype object), which iblearn does not unpickle; "
                "save its numbers: np.save(path, a.astype(float))"
            ) from e
        raise ValueError(f"{name}: cannot read {path!r}: {str(e).splitlines()[0]}") from e
    if not isinstance(data, np.ndarray | torch.Tensor):
        keys = [repr(k) for k in data] if isinstance(data, dict) else []
        held = type(data).__name__ + (f" (keys {', '.join(keys)})" if keys else "")
        how = f"one file a variable: torch.save(d[{keys[0]}], 'x.pt')" if keys else "rows of samples"
        raise ValueError(f"{name}: {path!r} holds a {held}, not one tensor; save {how}")
    if isinstance(data, torch.Tensor) and data.dtype == torch.bfloat16:
        data = data.float()  # numpy, which reads the columns, has no bfloat16; float32 holds its values
    if data.is_complex() if isinstance(data, torch.Tensor) else np.iscomplexobj(data):
        raise ValueError(
            f"{name}: {path!r} holds complex numbers, which iblearn does not support; give the real "
            "and imaginary parts as columns of their own"
        )
    text = isinstance(data, np.ndarray) and data.dtype.kind in "US"
    if text:  # class names, read as a table's column of names is: codes in sorted order
        data = _name_codes(data)
    if cols is None and not exclude:
        return Samples(
            data, [str(j) for j in range(data.shape[1] if data.ndim == 2 else 1)] if text else [], text
        )
    if getattr(data, "ndim", 0) != 2:
        raise ValueError(f"{name}: columns are picked from a 2-D array; {path!r} holds another shape")
    picked = _pick(cols, exclude, [], data.shape[1], name)
    return Samples(data[:, picked], [str(j) for j in picked], text)


def _name_codes(names: Any) -> Any:
    """An array of names (1-D, or columns of a 2-D one) as float codes, each column's in sorted order."""
    import numpy as np

    columns = names.reshape(len(names), -1).T
    codes = np.stack([np.unique(c, return_inverse=True)[1].reshape(-1) for c in columns], axis=1)
    return codes.astype(np.float64).reshape(names.shape)


def _read_table(p: Path, name: str, cols: str | None, exclude: Sequence[tuple[str, str]] = ()) -> Samples:
    """A CSV (comma-separated) or .txt (whitespace-separated) table's picked columns as a float64 array.

    The first line is a header when any of its fields is not a number and none is a number with a
    fraction (a column may be named 4 or 1990, a sample's line holds 0.37 beside a class name). A
    column of text (class names) becomes integer codes in sorted order: labels, as mixed_ksg's Y
    needs. Empty fields, text among numbers and numbers with a decimal comma are refused, naming the
    line. The file is read twice,
    a line at a time: once to count the rows, once to parse them into an array of that size, so that
    memory holds the picked numbers and one line (at most :data:`MAX_LINE` bytes) of text.
    """
    where = repr(str(p))
    try:
        n_rows = _count_rows(p, name)
        with p.open(encoding="utf-8-sig", newline="") as f:  # -sig: Excel writes a byte-order mark
            rows = _rows(f, p.suffix == ".csv")
            first = next(rows, (0, []))
            header: list[str] = []
            names = not all(_parses(v, float) for v in first[1]) and not any(map(_fraction, first[1]))
            if first[1] and names:
                header, n_rows, first = first[1], n_rows - 1, next(rows, (0, []))
            if not first[1]:
                raise ValueError(f"{name}: {where} holds no rows of samples")
            width = len(header or first[1])
            _one_field_or_refuse(header or first[1], name, where, p.suffix)
            picked = _pick(cols, exclude, header, width, name)
            table = _Table(name, where, [repr(header[j]) if header else str(j) for j in picked], n_rows)
            for line, row in itertools.chain([first], rows):
                if len(row) != width:
                    raise ValueError(
                        f"{name}: line {line} of {where} has {len(row)} fields, expected {width}"
                    )
                table.add(line, [row[j] for j in picked])
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"{name}: cannot read {where}: {e}") from e
    return table.samples()


def _one_field_or_refuse(fields: list[str], name: str, where: str, suffix: str) -> None:
    """Refuse a table whose first line is one field holding another separator (``a;b``, ``a<tab>b`` in
    a .csv, ``a,b`` in a .txt): every line would be read as one column of text."""
    if len(fields) != 1:
        return
    others = {";": "semicolons", "\t": "tabs", "|": "bars"} | ({",": "commas"} if suffix == ".txt" else {})
    for sep, said in others.items():
        if len([part for part in fields[0].split(sep) if part.strip()]) > 1:
            how = (
                "commas between fields (and decimal points)" if suffix == ".csv" else "spaces between fields"
            )
            raise ValueError(
                f"{name}: {where} reads as one column, its fields separated by {said}; iblearn reads a "
                f"{suffix} file with {how}: save it so"
                + (", or as .csv" if suffix == ".txt" and sep == "," else "")
            )


class _Table:
    """The picked columns of a table, filled a row at a time into an array of the counted rows."""

    def __init__(self, name: str, where: str, labels: list[str], n_rows: int) -> None:
        import numpy as np

        self.name, self.where, self.labels = name, where, labels
        self.values = np.empty((n_rows, len(labels)))
        self.n = 0
        self.codes: list[dict[str, int]] = [{} for _ in labels]  # a column's names, in order of appearance
        self.numbers = [False] * len(labels)  # whether a column has held a number

    def add(self, line: int, fields: list[str]) -> None:
        if self.n == len(self.values):  # a line end the count did not see (a lone carriage return)
            self.values.resize((2 * self.n + 1, len(self.labels)), refcheck=False)
        for c, text in enumerate(fields):
            try:
                self.values[self.n, c] = float(text)
            except ValueError:
                self.values[self.n, c] = self._name(c, line, text)
            else:
                self.numbers[c] = True
                if self.codes[c]:
                    raise ValueError(
                        f"{self.name}: {self.where} has {next(iter(self.codes[c]))!r} in column "
                        f"{self.labels[c]}, a column of numbers (line {line} has {text!r})"
                    )
        self.n += 1

    def _name(self, c: int, line: int, text: str) -> int:
        """The code of a class name, refusing what is no class name."""
        at = f"{self.name}: line {line} of {self.where}"
        if not text:
            raise ValueError(f"{at} has an empty field")
        if _DECIMAL_COMMA.fullmatch(text):
            raise ValueError(
                f"{at} has {text!r} in column {self.labels[c]}, a number with a decimal comma, which is "
                f"not read as a number: write a decimal point ({text.replace(',', '.')!r})"
            )
        if self.numbers[c]:  # a typo or a missing-value marker among numbers, not a class name
            raise ValueError(f"{at} has {text!r} in a column of numbers")
        return self.codes[c].setdefault(text, len(self.codes[c]))

    def samples(self) -> Samples:
        import numpy as np

        from iblearn.estimation.reading import sorted_codes

        values = self.values
        values.resize((self.n, len(self.labels)), refcheck=False)  # blank lines were counted
        for c, names in enumerate(self.codes):
            if names:  # class names: codes in sorted order, as the front door reads names
                rank = sorted_codes(list(names))
                values[:, c] = rank[values[:, c].astype(np.int64)]
        return Samples(values, self.labels, any(self.codes))


def _count_rows(p: Path, name: str) -> int:
    """The lines of ``p`` that are not blank (at least its rows), refusing a line above MAX_LINE bytes."""
    rows = number = 0
    with p.open("rb") as f:
        while line := f.readline(MAX_LINE + 1):
            number += 1
            if len(line) > MAX_LINE:
                raise ValueError(f"{name}: line {number} of {str(p)!r} is longer than {MAX_LINE:,} bytes")
            rows += bool(line.strip())
    return rows


def _rows(f: IO[str], comma: bool) -> Iterator[tuple[int, list[str]]]:
    """``(line number, stripped fields)`` of each row that is not blank."""
    if comma:
        reader = csv.reader(f)
        for row in reader:
            if row:
                yield reader.line_num, [v.strip() for v in row]
    else:
        for number, line in enumerate(f, start=1):
            if line.strip():
                yield number, line.split()


def _fraction(text: str) -> bool:
    """Whether ``text`` reads as a number but not as an integer (``0.37``, ``1e-3``): a sample, not a
    column's name."""
    return _parses(text, float) and not _parses(text, int)


def _parses(text: str, kind: type[int] | type[float]) -> bool:
    """Whether ``text`` reads as a number of ``kind`` (``float``: a table's cell; ``int``: a column index)."""
    try:
        kind(text)
    except ValueError:
        return False
    return True


def _pick(
    cols: str | None, exclude: Sequence[tuple[str, str]], header: Sequence[str], width: int, name: str
) -> list[int]:
    """The columns named by ``cols`` (all when None), less those named by ``exclude``'s
    ``(cols, option)`` pairs."""
    picked = (
        _column_indices(cols, header, width, _option_of(name)) if cols is not None else list(range(width))
    )
    for spec, option in exclude:
        dropped = set(_column_indices(spec, header, width, option, warn=False))
        picked = [j for j in picked if j not in dropped]
    if not picked:
        raise ValueError(f"{name}: {' and '.join(o for _, o in exclude)} take every column; none is left")
    return picked


def _option_of(name: str) -> str:
    return {"X": "--x-cols", "Y": "--y-cols"}.get(name, name)


#: How --x-cols, --y-cols and --cond read a column, as their help states it.
COLUMNS_RULE = (
    "columns by header name or 0-based index (-1 the last), comma-separated; a plain number is an index "
    "(with a warning where it is also a header name), name:4 the column named 4, index:4 the fifth"
)


def _column_indices(
    cols: str, header: Sequence[str], width: int, option: str, *, warn: bool = True
) -> list[int]:
    """``"a,2"``: column ``a`` by header name, then column 2 (0-based; -1 is the last). A token that
    reads as an index is one; ``name:`` and ``index:`` say which a token is."""
    picked = []
    for token in (t.strip() for t in cols.split(",")):
        kind, _, text = token.partition(":") if token.startswith(("name:", "index:")) else ("", "", token)
        index = _index(text, width) if kind != "name" else None
        named = list(header).index(text) if kind != "index" and text in header else None
        if named is not None and index is None and list(header).count(text) > 1:
            where = [j for j, h in enumerate(header) if h == text]
            raise ValueError(
                f"{option}: the header names {len(where)} columns {text!r} ({', '.join(map(str, where))}); "
                f"pick one by index (index:{where[0]})"
            )
        if kind == "index" and index is None:
            raise ValueError(f"{option}: {text!r} is not a column index; the file has {width} columns")
        if index is not None:
            if warn and named is not None and named != index:
                err.print(
                    f"[yellow]warning:[/yellow] {option}: {escape(repr(text))} is both column {index} and "
                    f"the name of column {named}; took column {index} (name:{escape(text)} picks the other)"
                )
            picked.append(index)
        elif named is not None:
            picked.append(named)
        elif _parses(text, int) and kind != "name":
            raise ValueError(f"{option}: column {text} is out of range; the file has {width} columns")
        else:
            known = f"the columns are {', '.join(header)}" if header else "the file has no header line"
            close = difflib.get_close_matches(text, list(header), n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
            raise ValueError(f"{option}: no column {'named ' if kind else ''}{text!r}; {hint}{known}")
    return picked


def _index(text: str, width: int) -> int | None:
    """``text`` as a column index (-1 the last), or None where it is no index of ``width`` columns."""
    if not _parses(text, int) or not -width <= int(text) < width:
        return None
    return int(text) % width


def key_value(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value, parse_constant=_no_constant)
    except json.JSONDecodeError:
        return key, value


def _no_constant(name: str) -> Any:
    raise argparse.ArgumentTypeError(f"{name} is not a setting's value (JSON's NaN and Infinity are refused)")


def config_file(path: str) -> dict[str, Any]:
    """Config fields from a JSON or TOML file: a table of ``KEY = VALUE``, nested configs as sub-tables.
    Nothing in it is evaluated or unpickled."""
    import tomllib

    from iblearn.records import read_json

    p = regular_file(path, "--config")
    if p.suffix not in (".json", ".toml"):
        raise ValueError(f"--config: {path!r} is neither .json nor .toml")
    try:
        data = read_json(p) if p.suffix == ".json" else tomllib.loads(p.read_text(encoding="utf-8"))
    except (ValueError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"--config: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"--config: {path!r} holds a {type(data).__name__}, not a table of config fields")
    return data


def x_values(x: Samples, method: str | None) -> Any:
    """X as the estimators take it: its numbers, or where X is one column of names (class labels) their
    codes, for ``auto`` alone (the other estimators take labels as Y). Names beside numbers, names that
    are free text (most of them on one row only) and names for another method are refused, naming X's
    columns."""
    import numpy as np

    if not x.text:
        return x.values
    values = np.asarray(x.values)
    cols = ", ".join(x.columns)
    if values.ndim == 2 and values.shape[1] > 1:
        raise ValueError(
            f"--x-cols: X's columns {cols} mix names (class labels) with numbers; class labels are a "
            "variable of their own: give them as Y (--y-cols), or pick only numeric columns for X"
        )
    codes = name_codes(values, "X", cols)
    if method not in (None, "auto"):
        raise ValueError(
            f"X: column {cols} holds class names, which {method} does not take as X: give them as Y "
            "(class labels go second), or use --method auto"
        )
    return codes


def name_codes(values: Any, side: str, cols: str) -> Any:
    """Class names read from a table (already codes in sorted order) as integer codes 0..K-1, refused
    where they are free text: more distinct names than half the rows."""
    import numpy as np

    codes = np.unique(np.asarray(values).reshape(-1), return_inverse=True)[1].astype(np.int64)
    distinct = int(codes.max()) + 1
    if distinct > len(codes) / 2:
        raise ValueError(
            f"{side}: column {cols} holds {distinct} distinct names in {len(codes)} rows: free text, not "
            "class labels; the estimators take numbers, or class labels that repeat"
        )
    return codes


def label_codes(y: Samples, kind: str) -> Any:
    """Y's classes as integer codes 0..K-1 (in sorted order of the values) where Y is one column of class
    labels, else None: names, or numbers that :func:`iblearn.functional.class_codes` reads as labels;
    ``kind`` ("labels", "continuous") overrides."""
    import numpy as np

    from iblearn.functional import class_codes

    values = np.asarray(y.values)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if kind == "continuous":
        if y.text:
            raise ValueError(f"--y-type: Y holds names, not numbers: {', '.join(y.columns)}")
        return None
    if values.ndim != 1 or values.size == 0:
        if kind == "labels":
            raise ValueError("--y-type: class labels are one column")
        return None
    if y.text:
        return name_codes(values, "Y", ", ".join(y.columns))
    if kind == "labels":  # labels asked for are taken as given
        if values.dtype.kind == "f" and not np.array_equal(values, np.round(values)):
            raise ValueError("--y-type: class labels are integers or names; Y holds other numbers")
        return np.unique(values, return_inverse=True)[1].astype(np.int64)
    codes = class_codes(values, "Y")
    return None if codes is None else codes.numpy()


def read_variables(args: argparse.Namespace) -> tuple[Samples, Samples, Samples | None]:
    """``iblearn estimate``'s X, Y and Z (None without --cond) from their files; --y-cols and --cond
    columns of X's file are not X's unless --x-cols says so."""
    cond_cols = args.cond if args.cond is not None and not _names_a_file(args.cond) else None
    exclude = []
    if args.x_cols is None:
        if args.y is None:
            exclude.append((args.y_cols, "--y-cols"))
        if cond_cols is not None:
            exclude.append((cond_cols, "--cond"))
    load = functools.partial(load_samples, max_mb=args.max_mb)
    x = load(args.x, "X", args.x_cols, exclude=exclude)
    y = load(args.y or args.x, "Y", args.y_cols)
    if args.y is None:
        _disjoint(x, y, "--y-cols", "X")
    if args.cond is None:
        return x, y, None
    z = load(args.x, "--cond", cond_cols) if cond_cols is not None else load(args.cond, "--cond")
    if cond_cols is not None:
        _disjoint(x, z, "--cond", "X")
        if args.y is None:
            _disjoint(y, z, "--cond", "Y")
    return x, y, z


def _disjoint(first: Samples, second: Samples, option: str, other: str) -> None:
    """Refuse ``second`` (picked by ``option``) where it takes a column of ``first``'s, from one file:
    a variable's information with itself is no question the estimate answers."""
    shared = [c for c in second.columns if c in first.columns]
    if shared:
        raise ValueError(
            f"{option}: column {shared[0]} is {other}'s too; give {other} and {option} different columns"
        )


def _names_a_file(text: str) -> bool:
    """Whether ``--cond`` names a file (else it names columns of X's file)."""
    return Path(text).is_file() or Path(text).suffix in SAMPLE_SUFFIXES


def codes_or_values(z: Samples) -> Any:
    """Z as the estimate takes it: integer codes where it is class labels (a discrete condition)."""
    codes = label_codes(z, "auto")
    return codes if codes is not None else z.values
