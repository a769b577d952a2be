"""The sources of one target, by the steps of Novelli et al. (2019, "Methods", Algorithm 1; IDTxl's
``MultivariateTE``): (a) the target's own past, (b) the sources' past variables, each chosen greedily by
conditional MI and kept while a maximum statistic against surrogates says it adds information, (c)
pruning by a minimum statistic, (d) an omnibus test of all chosen sources together.

References:
    L. Novelli, P. Wollstadt, P. Mediano, M. Wibral, J. T. Lizier. Large-scale directed network
    inference with multivariate transfer entropy and hierarchical statistical testing. Network
    Neuroscience 3(3), 827-847 (2019).
    J. T. Lizier, M. Rubinov. Multivariate construction of effective computational networks from
    observational data. Preprint, MPI MIS 25/2012: the greedy selection with maximum statistics.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from iblearn.functional import inference
from iblearn.functional.cmi_surrogates import (
    RENEWED,
    Condition,
    Engine,
    Surrogates,
    condition,
    engine,
    queued,
    surrogates,
)
from iblearn.network.embedding import Embedded, Variable

#: The steps, as the third element of every surrogate's key.
PAST, SOURCES, PRUNING, OMNIBUS, EDGE = 0, 1, 2, 3, 4
#: Surrogates a block of the maximum and minimum statistics' tests, after the first (:meth:`_Search.blocks`).
BLOCK = 16
#: Bytes of surrogates drawn afresh (autoregressive, Fourier) one target's search keeps laid out: a
#: candidate meets the same surrogates at each round of the greedy search and of the pruning, and
#: laying them out is most of a Gaussian test's work.
KEPT_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Settings:
    """What every target is inferred with (checked by :func:`iblearn.network.infer_network`):
    ``surrogates``, the kind of every process's surrogates but those of ``fourier``, the processes
    whose surrogates are phase-randomised series instead (those that mix too slowly for an
    autoregressive fit or whose lowest frequencies rise as a long memory's do, where the kind was
    chosen for the data)."""

    min_lag: int
    max_lag: int
    method: str
    n_permutations: int
    alpha: float
    seed: int
    surrogates: str
    fourier: tuple[int, ...] = ()

    def kind(self, process: int) -> str:
        """The kind of ``process``'s surrogates."""
        return "fourier" if process in self.fourier else self.surrogates


@dataclass(frozen=True)
class TargetResult:
    """One target's inferred past, before the correction across targets.

    Attributes:
        target: the target process.
        past: lags of the target's own past that were selected (step a).
        sources: ``(source, lag)`` of each selected source variable after pruning (steps b, c).
        te: each source variable's conditional TE given all other selected variables, nats.
        p_values: its p-value against its own surrogates.
        omnibus_te: TE of all selected source variables together given the target's past (step d).
        omnibus_p: the target's p-value, corrected across targets: the larger of the omnibus test's and
            the first source's maximum statistic's, a valid p-value of "no process drives the target"
            whatever the selection did (1 where no source was selected).
    """

    target: int
    past: tuple[int, ...]
    sources: tuple[tuple[int, int], ...]
    te: tuple[float, ...]
    p_values: tuple[float, ...]
    omnibus_te: float
    omnibus_p: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TargetResult:
        return cls(
            int(d["target"]),
            tuple(int(v) for v in d["past"]),
            tuple((int(s), int(lag)) for s, lag in d["sources"]),
            tuple(float(v) for v in d["te"]),
            tuple(float(v) for v in d["p_values"]),
            float(d["omnibus_te"]),
            float(d["omnibus_p"]),
        )


def checked_target(d: dict[str, Any], j: int, n_processes: int, st: Settings) -> TargetResult:
    """The :class:`TargetResult` of target ``j`` that a checkpoint's record ``d`` holds, each field
    checked against what a run with ``st`` on ``n_processes`` could have written: ``target`` is ``j``,
    the past's lags lie in 1..max_lag, each source is another process at a lag in min_lag..max_lag, none
    twice, one finite TE and one p-value a source, and every p-value a multiple ``(c + 1) / (B + 1)``
    in [1 / (B + 1), 1]; a target without sources has omnibus TE 0 and p-value 1. Raises ValueError
    (or TypeError) saying which field is wrong."""
    fields = ("target", "past", "sources", "te", "p_values", "omnibus_te", "omnibus_p")
    if set(d) != set(fields):
        raise ValueError(f"expected the fields {', '.join(fields)}, got {', '.join(sorted(d))}")
    if _integer(d["target"], "target") != j:
        raise ValueError(f"target: the record of target {j} says {d['target']!r}")
    past = tuple(_integer(v, "past", 1, st.max_lag) for v in _listed(d["past"], "past"))
    sources = []
    for pair in _listed(d["sources"], "sources"):
        if len(_listed(pair, "sources")) != 2:
            raise ValueError(f"sources: expected (process, lag) pairs, got {pair!r}")
        source = _integer(pair[0], "sources", 0, n_processes - 1)
        if source == j:
            raise ValueError(f"sources: target {j} is listed as its own source")
        sources.append((source, _integer(pair[1], "sources", st.min_lag, st.max_lag)))
    for name, values in (("past", past), ("sources", sources)):
        if len(set(values)) != len(values):
            raise ValueError(f"{name}: a variable is listed twice")
    te = [_real(v, "te") for v in _listed(d["te"], "te")]
    p_values = [_p_value(v, "p_values", st.n_permutations) for v in _listed(d["p_values"], "p_values")]
    if not len(te) == len(p_values) == len(sources):
        raise ValueError(
            f"te, p_values: expected one a source ({len(sources)}), got {len(te)} and {len(p_values)}"
        )
    omnibus_te = _real(d["omnibus_te"], "omnibus_te")
    omnibus_p = _p_value(d["omnibus_p"], "omnibus_p", st.n_permutations)
    if not sources and (omnibus_te, omnibus_p) != (0.0, 1.0):
        raise ValueError("omnibus_te, omnibus_p: a target without sources has 0 and 1")
    return TargetResult(j, past, tuple(sources), tuple(te), tuple(p_values), omnibus_te, omnibus_p)


def _listed(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{name}: expected a list, got {value!r}")
    return value


def _integer(value: Any, name: str, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name}: {value} lies outside [{low}, {high}]")
    return value


def _real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return float(value)


def _p_value(value: Any, name: str, n_permutations: int) -> float:
    """A p-value ``(c + 1) / (B + 1)`` of B surrogates, c of them at or above the statistic."""
    p = _real(value, name)
    count = p * (n_permutations + 1) - 1
    if not (0 <= round(count) <= n_permutations and abs(count - round(count)) < 1e-6):
        raise ValueError(f"{name}: {p!r} is no p-value of {n_permutations} surrogates")
    return p


class _Search:
    """The state of one target's search: its samples, estimator and the surrogates' keys."""

    def __init__(self, emb: Embedded, j: int, st: Settings, device: str | None = None) -> None:
        self.emb, self.j, self.st = emb, j, st
        self.eng: Engine = engine(st.method, device)
        self.y = emb.values[:, j, 0]
        self.plans: dict[tuple[int, Variable], Surrogates] = {}
        #: The estimates a candidate takes against a conditioning set on the host, for the lengths of
        #: its neighbour lists: its own and its surrogates', or its own alone where the engine estimates
        #: the surrogates in one batch (on a device; the Gaussian's in numpy), which reads no lists.
        self.estimates = 1 if self.eng.batched else st.n_permutations + 1

    def surr(self, step: int, var: Variable, variables: tuple[Variable, ...] = ()) -> Surrogates:
        """The surrogates of ``var`` at ``step`` (of the columns of ``variables`` moved together where
        given, the lags of one process drawn as one series), the same plan each time it is asked for;
        plans that lay their series out keep them while :data:`KEPT_BYTES` allows."""
        if (step, var) in self.plans:
            return self.plans[(step, var)]
        key = (self.st.seed, self.j, step, var[0], var[1])
        size = 8 * self.st.n_permutations * self.emb.values.shape[0]
        keep = self.st.surrogates in RENEWED and (len(self.plans) + 1) * size <= KEPT_BYTES
        kinds = tuple(self.st.kind(p) for p, _ in variables or (var,))
        mixed = len(set(kinds)) > 1
        kind, columns = (self.st.surrogates, kinds) if mixed else (kinds[0], ())
        plan = surrogates(self.emb.segments, self.st.n_permutations, kind, key, keep, columns, variables)
        if keep:
            self.plans[(step, var)] = plan
        return plan

    def column(self, var: Variable) -> np.ndarray:
        return self.emb.values[:, var[0], var[1]]

    def significant(self, count: int) -> bool:
        """Whether ``count`` surrogates at or above the statistic give a p-value below alpha (IDTxl's
        convention: p = alpha is not significant); of those drawn so far, whether the rest can still
        bring it there."""
        return inference.can_reach(count, self.st.n_permutations, self.st.alpha, at_alpha=False)

    def p_value(self, count: int) -> float:
        return inference.count_p_value(count, self.st.n_permutations)

    def max_test(self, cond: Condition, candidates: list[Variable], observed: float) -> float | None:
        """Step (a)/(b)'s test: ``observed`` (the largest candidate's CMI) against the largest of all
        candidates' CMI in each surrogate (Novelli et al. 2019, "maximum statistic"); its p-value where
        it is below alpha, else None (the count stops as soon as that is settled)."""
        step = PAST if candidates[0][0] == self.j else SOURCES
        if self.eng.batched:
            # Queued on the device candidate after candidate, read once: their maximum's count.
            table = [queued(self.eng, cond, self.column(v), self.surr(step, v)) for v in candidates]
            count = int((torch.stack(table).amax(dim=0) >= observed).sum())
            return self.p_value(count) if self.significant(count) else None
        # The surrogates in blocks, each candidate's estimated together on those of the block not yet
        # above the statistic: the count after a block is the count one by one, and it settles the test
        # within a block exactly where it does at the block's end.
        plans = [self.surr(step, v) for v in candidates]
        columns = [self.column(v) for v in candidates]
        count = 0
        for block in self.blocks():
            below = block
            for column, plan in zip(columns, plans, strict=True):
                if not len(below):
                    break
                below = below[~(self.eng.values(cond, column, plan, below) >= observed)]
            count += len(block) - len(below)
            if not self.significant(count):  # settled: more surrogates cannot bring p below alpha
                return None
        return self.p_value(count)

    def blocks(self) -> list[np.ndarray]:
        """The surrogates' indices in blocks: first the fewest that can settle a test (the count at which
        the p-value reaches alpha), then blocks of :data:`BLOCK`."""
        n = self.st.n_permutations
        first = next((c for c in range(1, n + 1) if not self.significant(c)), n)
        edges = [0, *range(first, n, BLOCK), n]
        return [np.arange(a, b) for a, b in itertools.pairwise(edges) if b > a]

    def select(self, chosen: list[Variable], candidates: list[Variable]) -> tuple[list[Variable], float]:
        """Greedy inclusion: the candidate of largest CMI given ``chosen``, while its maximum statistic
        is significant (Algorithm 1, steps a and b); and the first step's p-value (1 where none was
        significant)."""
        chosen, remaining, first = list(chosen), list(candidates), 1.0
        added: list[Variable] = []
        while remaining:
            cond = condition(self.y, self.emb.columns(chosen), len(remaining) * self.estimates)
            values = self.eng.estimates(cond, [self.column(v) for v in remaining])
            best = int(np.argmax(values))
            p = self.max_test(cond, remaining, values[best])
            if p is None:
                break
            first = p if not added else first
            added.append(remaining.pop(best))
            chosen.append(added[-1])
        return added, first

    def min_test(self, past: list[Variable], sources: list[Variable]) -> tuple[int, bool]:
        """Step (c)'s test: the source variable of least CMI given all others, against the least of all
        source variables' CMI in each surrogate; returns its index and whether it is significant."""
        conds = [
            condition(self.y, self.emb.columns(past + sources[:i] + sources[i + 1 :]), self.estimates)
            for i in range(len(sources))
        ]
        values = [self.eng.value(c, self.column(v)) for c, v in zip(conds, sources, strict=True)]
        worst, observed = int(np.argmin(values)), min(values)
        plans = [self.surr(PRUNING, v) for v in sources]
        if self.eng.batched:
            table = [
                queued(self.eng, c, self.column(v), p) for c, v, p in zip(conds, sources, plans, strict=True)
            ]
            return worst, self.significant(int((torch.stack(table).amin(dim=0) >= observed).sum()))
        count = 0
        for block in self.blocks():
            above = block
            for c, v, p in zip(conds, sources, plans, strict=True):
                if not len(above):
                    break
                above = above[self.eng.values(c, self.column(v), p, above) >= observed]
            count += len(above)  # the surrogates at or above the statistic in every source variable
            if not self.significant(count):
                return worst, False
        return worst, True

    def prune(self, past: list[Variable], sources: list[Variable]) -> list[Variable]:
        """Remove the least informative source variable while its minimum statistic is not significant."""
        sources = list(sources)
        while sources:
            worst, keep = self.min_test(past, sources)
            if keep:
                break
            sources.pop(worst)
        return sources

    def tested(
        self, cond: Condition, c: np.ndarray, step: int, var: Variable, variables: tuple[Variable, ...] = ()
    ) -> tuple[float, float]:
        """CMI of ``c`` given ``cond`` and its p-value against all its surrogates (:meth:`surr`)."""
        value = self.eng.value(cond, c)
        nulls = self.eng.surrogates(cond, c, self.surr(step, var, variables))
        return value, inference.count_p_value(int((nulls >= value).sum()), len(nulls))


def infer_target(emb: Embedded, j: int, st: Settings, device: str | None = None) -> TargetResult:
    """The steps (a) - (d) for target ``j`` (see the module's notes); ``device``: KSG's surrogates
    counted in batches there (None: one by one, exactly)."""
    s = _Search(emb, j, st, device)
    past, _ = s.select([], [(j, lag) for lag in range(1, st.max_lag + 1)])
    candidates = [
        (p, lag) for p in range(emb.n_processes) if p != j for lag in range(st.min_lag, st.max_lag + 1)
    ]
    selected, first_p = s.select(past, candidates)
    sources = s.prune(past, selected)
    te, p_values = [], []
    for i, v in enumerate(sources):
        cond = condition(s.y, emb.columns(past + sources[:i] + sources[i + 1 :]), s.estimates)
        value, p = s.tested(cond, s.column(v), EDGE, v)
        te.append(value)
        p_values.append(p)
    omnibus_te, omnibus_p = 0.0, 1.0
    if sources:
        # The sources' variables tested together: with trials permuted, one order for all of them (as
        # IDTxl's omnibus test permutes them), which keeps their joint law; with series drawn afresh, a
        # series for each source process, of its kind, its selected lags windows of that one series
        # (:meth:`Surrogates.series`), which keeps each process's law and the dependence of its lags on
        # one another. Different processes' series are drawn independently: their dependence on one
        # another is not kept, which only permuting whole trials (rows of every source at once) does.
        omnibus_te, joint_p = s.tested(
            condition(s.y, emb.columns(past), s.estimates),
            emb.columns(sources),
            OMNIBUS,
            (-1, -1),
            tuple(sources),
        )
        # The joint test ran on the data that chose the sources, so its null leaves out the choice and
        # its p-value is near its least whenever a source was chosen, by chance or not. The first
        # source's maximum statistic was drawn over every candidate, the choice within its null: where
        # no process drives the target, P(its p <= u) <= u, and so for the larger of the two.
        omnibus_p = max(joint_p, first_p)
    for plan in s.plans.values():
        plan.release()  # their memory to the next target's surrogates
    return TargetResult(
        j, tuple(lag for _, lag in past), tuple(sources), tuple(te), tuple(p_values), omnibus_te, omnibus_p
    )
