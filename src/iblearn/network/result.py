"""What :func:`iblearn.network.infer_network` returns: the inferred network, per target and per edge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from iblearn.network.target import TargetResult

#: The edges a result's one-line form lists before "... more".
SHOWN_EDGES = 4


@dataclass(frozen=True)
class NetworkResult:
    """A network inferred by multivariate transfer entropy.

    Attributes:
        n_processes: P, the processes (nodes).
        targets: each target's :class:`~iblearn.network.target.TargetResult` (its selected past, its
            sources with their conditional TE and p-values, the omnibus TE and p-value), in order of
            the target; in a partial result, only the targets that were run.
        significant: per target, whether its p-value (``omnibus_p``) survived the correction across all
            targets (Benjamini-Hochberg at ``alpha`` where ``fdr``, else Holm); a target that did not
            keeps its selected sources in ``targets`` but gives no edge. All False in a partial result.
        settings: the settings the network was inferred with, the estimator ``auto`` chose and why,
            the surrogates used, and ``p_floor``, the least p-value a target can reach,
            ``1 / (n_permutations + 1)``.
        names: the processes' names, from the data (a frame's columns, the channels of an MNE object or
            of a DataArray's coordinate), or None where it held none.
        complete: False for a partial result, of some targets run apart (``infer_network``'s
            ``targets``): the correction across targets needs all P, so it has no edges yet; a call on
            all targets with the same checkpoint folder merges the parts.

    Example:
        >>> import numpy as np
        >>> from iblearn.network import infer_network
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal((1000, 3))
        >>> x[2:, 1] += 0.7 * x[:-2, 0]  # process 0 drives process 1 two steps later
        >>> result = infer_network(x, max_lag=3, method="gaussian", n_permutations=100)
        >>> result.edges
        [(0, 1, 2)]
    """

    n_processes: int
    targets: tuple[TargetResult, ...]
    significant: tuple[bool, ...]
    settings: Mapping[str, Any]
    names: tuple[str, ...] | None = None
    complete: bool = True

    @property
    def edges(self) -> list[tuple[int, int, int]]:
        """``(source, target, lag)`` of every inferred source variable of a significant target."""
        return [
            (s, t.target, lag)
            for t, keep in zip(self.targets, self.significant, strict=True)
            if keep
            for s, lag in t.sources
        ]

    @property
    def adjacency(self) -> np.ndarray:
        """``(P, P)`` bools, ``[source, target]`` true where the source drives the target at some lag."""
        out = np.zeros((self.n_processes, self.n_processes), dtype=bool)
        for s, t, _ in self.edges:
            out[s, t] = True
        return out

    @property
    def edge_te(self) -> dict[tuple[int, int, int], tuple[float, float]]:
        """``(source, target, lag) -> (conditional TE in nats, p-value)`` of every edge: the TE of that
        source variable given the target's selected past and all its other selected sources."""
        out = {}
        for t, keep in zip(self.targets, self.significant, strict=True):
            if keep:
                for (s, lag), te, p in zip(t.sources, t.te, t.p_values, strict=True):
                    out[(s, t.target, lag)] = (te, p)
        return out

    @property
    def selected_past(self) -> dict[int, tuple[int, ...]]:
        """Each target's selected own lags (its active information storage's variables)."""
        return {t.target: t.past for t in self.targets}

    def __repr__(self) -> str:
        # One line: the processes, the edges (the first few), the method; the table is summary().
        edges = self.edges
        shown = ", ".join(f"{self.label(s)}->{self.label(t)} lag {lag}" for s, t, lag in edges[:SHOWN_EDGES])
        more = f", ... {len(edges) - SHOWN_EDGES} more" if len(edges) > SHOWN_EDGES else ""
        listed = f": {shown}{more}" if edges else ""
        method = self.settings.get("method", "?")
        if not self.complete:
            return (
                f"NetworkResult({self.n_processes} processes, partial: {len(self.targets)} of "
                f"{self.n_processes} targets, not corrected across targets, no edges yet; method {method})"
            )
        return f"NetworkResult({self.n_processes} processes, {len(edges)} edges{listed}; method {method})"

    def __str__(self) -> str:
        return self.summary()

    def summary(self) -> str:
        """The network as a table: one row an edge (source, target, lag, conditional TE in nats,
        p-value), then each target's selected past and omnibus test."""
        lines = [repr(self), "", f"{'source':>6} {'target':>6} {'lag':>3} {'TE (nats)':>10} {'p':>8}"]
        for (s, t, lag), (te, p) in self.edge_te.items():
            lines.append(f"{self.label(s):>6} {self.label(t):>6} {lag:>3} {te:>10.4f} {p:>8.4f}")
        lines += ["", f"{'target':>6} {'past':<12} {'omnibus TE':>10} {'p':>8} {'kept':>5}"]
        for r, keep in zip(self.targets, self.significant, strict=True):
            past = ",".join(map(str, r.past)) or "-"
            kept = str(keep) if self.complete else "-"  # not decided before the correction
            lines.append(
                f"{self.label(r.target):>6} {past:<12} {r.omnibus_te:>10.4f} {r.omnibus_p:>8.4f} {kept:>5}"
            )
        return "\n".join(lines)

    def label(self, process: int) -> str:
        """Process ``process``'s name where the data named its processes, else its index as text."""
        return str(process) if self.names is None else self.names[process]

    def to_pandas(self) -> Any:
        """The edges as a pandas DataFrame, one row an edge: ``source``, ``target`` (the processes'
        names where known, else their indices), ``lag``, ``te`` (conditional TE in nats), ``p_value``.

        Raises:
            ImportError: naming the package where pandas is not installed.
        """
        try:
            import pandas as pd  # type: ignore[import-untyped]
        except ImportError as err:
            raise ImportError("to_pandas needs pandas: pip install pandas") from err
        name = self.label if self.names is not None else int
        rows = [(name(s), name(t), lag, te, p) for (s, t, lag), (te, p) in self.edge_te.items()]
        columns = ["source", "target", "lag", "te", "p_value"]
        frame = pd.DataFrame(rows, columns=columns)
        return frame.astype({"lag": "int64", "te": "float64", "p_value": "float64"})

    def to_networkx(self) -> Any:
        """A ``networkx.MultiDiGraph``: one node a process, one edge a ``(source, target, lag)`` with
        attributes ``lag``, ``te`` and ``p_value``.

        Raises:
            ImportError: naming the package where networkx is not installed.
        """
        try:
            import networkx as nx  # type: ignore[import-untyped]
        except ImportError as err:
            raise ImportError("to_networkx needs networkx: pip install networkx") from err
        graph = nx.MultiDiGraph()
        graph.add_nodes_from(range(self.n_processes))
        for (s, t, lag), (te, p) in self.edge_te.items():
            graph.add_edge(s, t, lag=lag, te=te, p_value=p)
        return graph

    def plot(self, ax: Any = None) -> Any:
        """The network on a circle, arrows from source to target labelled by lag (matplotlib)."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as err:
            raise ImportError("plot needs matplotlib: pip install matplotlib") from err
        if ax is None:
            _, ax = plt.subplots(figsize=(4, 4))
        angle = 2 * np.pi * np.arange(self.n_processes) / self.n_processes
        xy = np.stack([np.cos(angle), np.sin(angle)], axis=1)
        for (s, t, lag), (te, _) in self.edge_te.items():
            ax.annotate(
                "",
                xy=xy[t],
                xytext=xy[s],
                arrowprops=dict(arrowstyle="->", lw=0.5 + 4 * min(te, 1.0), shrinkA=9, shrinkB=9),
            )
            ax.text(*(0.55 * xy[s] + 0.45 * xy[t]), str(lag), fontsize=7, ha="center")
        ax.scatter(xy[:, 0], xy[:, 1], s=300, c="white", edgecolors="black", zorder=3)
        for p in range(self.n_processes):
            ax.text(*xy[p], str(p), ha="center", va="center", zorder=4)
        ax.set_axis_off()
        ax.set_aspect("equal")
        return ax
