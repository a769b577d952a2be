"""Imports between iblearn's layers point down only (docs/design.md, "Layers, and which way imports go").

Every import statement under src/iblearn counts, those inside functions too: a lazy import upward is
still a dependency upward. Docstring examples are not imports.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "iblearn"

# The order of docs/design.md: `data` imports nothing but `functional` (the
# synthetic tasks' closed forms), and `training` and `models` take its GraphBatch, so it sits just above
# `functional`. A package may import its own modules and those of lower ranks; packages of one rank are
# siblings and import neither way.
RANK = {
    "functional": 0,
    "data": 1,
    "estimators": 2,
    "optim": 3,
    "training": 3,
    "estimation": 4,  # the front door, over every estimator and measure
    "network": 4.5,  # network inference by multivariate TE: above the front door, below analysis
    "analysis": 5,
    "models": 5,
    "experiments": 6,
    "sklearn": 6,  # scikit-learn adapters at the edge
    "neuro": 6,  # recordings across trials (MNE, xarray) at the edge
    "genes": 6,  # AnnData at the edge
    "tigramite": 6,  # tigramite's conditional-independence test, at the edge
    "cli": 7,
    "__main__": 8,  # `python -m iblearn`: the command
}
# Usable by every layer, so they import none of the layers themselves (and not each other upward).
SHARED = {
    "records",
    "parallel",  # batches through joblib, progress and checkpoint folders, on the records layer
    "distributed",
    "_provenance",
    "_checks",
    "_settings",  # the shared settings' constraints, over _checks
    "_threads",
    "_plotting",
    "_modes",
    "_lightning",
    "_reproductions",
    "_measures",
}


def _top(module: str) -> str | None:
    """The top-level part of iblearn that ``module`` (a dotted name) lies in; None outside iblearn."""
    parts = module.split(".")
    return parts[1] if parts[0] == "iblearn" and len(parts) > 1 else None


@cache
def _parsed(text: str) -> ast.Module:
    """The syntax tree of a module's text, parsed once a session (the checks below each walk every module;
    none changes a tree)."""
    return ast.parse(text)


def _tree(path: Path) -> ast.Module:
    return _parsed(path.read_text(encoding="utf-8"))


def _imports(path: Path, src: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of iblearn in ``path``, relative ones resolved."""
    package = ".".join(path.relative_to(src.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            # `from iblearn import functional` imports the subpackage named after `import`.
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return [(line, m) for line, m in found if m.startswith("iblearn.")]


def _violations(src: Path = SRC) -> list[str]:
    bad = []
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src)
        if rel == Path("__init__.py"):
            continue  # the package's top level re-exports names lazily from the layers (PEP 562)
        here = rel.parts[0].removesuffix(".py")
        if here not in RANK and here not in SHARED:
            bad.append(f"{rel}: iblearn.{here} is in no layer of docs/design.md")
            continue
        seen = set()
        for line, module in _imports(path, src):
            there = _top(module)
            if there is None or there == here or (line, there) in seen:
                continue
            seen.add((line, there))
            if there not in RANK and there not in SHARED:
                # `from iblearn import estimators` names a subpackage; a name like `MIEstimate` does not.
                if (src / there).is_dir() or (src / f"{there}.py").is_file():
                    bad.append(f"{rel}:{line}: imports {module}, which is in no layer")
                continue
            if there in SHARED:
                ok = True
            elif here in SHARED:
                ok = False
            else:
                ok = RANK[there] < RANK[here]
            if not ok:
                bad.append(f"{rel}:{line}: {here} imports {module} ({there} is not below {here})")
    return bad


def test_imports_point_down_the_layers():
    assert _violations() == []


def _package(root: Path, files: dict[str, str]) -> Path:
    """``root`` holding ``files`` (a path below it, with its folders, to its text): a package to check."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_check_sees_an_upward_import(tmp_path):
    fake = _package(
        tmp_path / "iblearn",
        {
            "functional/knn.py": "def f():\n    from iblearn.estimators import KSG\n",
            "estimators/base.py": "from ..functional import knn\n",
        },
    )
    assert _violations(fake) == [
        "functional/knn.py:2: functional imports iblearn.estimators.KSG (estimators is not below functional)"
    ]


# What a source checkout holds beside the package; an installed wheel has none of it.
CHECKOUT_ONLY = ("benchmarks", "tests", "examples")


def _reaches_outside(src: Path = SRC) -> list[str]:
    """Imports of a checkout's folders, and edits of sys.path (how a module would reach them), under src."""
    bad = []
    for path in sorted(src.rglob("*.py")):
        rel, tree = path.relative_to(src), _tree(path)
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            bad += [f"{rel}:{node.lineno}: imports {n}" for n in names if n.split(".")[0] in CHECKOUT_ONLY]
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "path"
                and getattr(node.value, "id", "") == "sys"
            ):
                bad.append(f"{rel}:{node.lineno}: reaches sys.path")
    return sorted(bad, key=lambda line: (line.split(":")[0], int(line.split(":")[1])))


def test_the_package_imports_nothing_from_outside_it():
    """The command and every module work from a wheel: nothing imports the checkout's benchmarks/,
    tests/ or examples/, nor puts a folder on sys.path to reach them (``iblearn bench`` runs the
    checkout's ``python -m benchmarks`` in a process of its own)."""
    assert _reaches_outside() == []


def test_the_check_sees_an_import_from_the_checkout(tmp_path):
    _package(
        tmp_path,
        {"cli/bench.py": "import sys\nsys.path.insert(0, '.')\nfrom benchmarks.runners import bench_speed\n"},
    )
    assert _reaches_outside(tmp_path) == [
        "cli/bench.py:2: reaches sys.path",
        "cli/bench.py:3: imports benchmarks.runners",
    ]


NEURAL = SRC / "estimators" / "neural"
# The neural package's machinery; every other module in it is an estimator family.
MACHINERY = {
    "__init__",
    "averaging",
    "base",
    "contract",
    "bound",
    "captured",
    "fitting",
    "inputs",
    "negatives",
    "representation",
    "settings",
    "stacked",
    "trainer",
}


def _neural_violations(package: Path = NEURAL, src: Path = SRC) -> list[str]:
    """A family that imports the trainer (training is the base's and the trainer's alone), and machinery
    that imports a family (the families build on the machinery, never the other way)."""
    prefix = "iblearn.estimators.neural."
    bad = []
    for path in sorted(package.glob("*.py")):
        for line, module in _imports(path, src):
            name = module.removeprefix(prefix).split(".")[0] if module.startswith(prefix) else None
            if name is None or path.stem == "__init__":
                continue
            if path.stem not in MACHINERY and name == "trainer":
                bad.append(f"{path.name}:{line}: a family imports the trainer")
            elif path.stem in MACHINERY and name not in MACHINERY:
                bad.append(f"{path.name}:{line}: machinery imports the family {name}")
    return bad


def test_neural_families_build_on_the_machinery_and_leave_training_to_the_trainer():
    assert {p.stem for p in NEURAL.glob("*.py")} >= MACHINERY | {"aamine", "dim", "graph", "nwj", "lmi"}
    assert _neural_violations() == []


def test_the_neural_check_sees_a_family_reaching_the_trainer(tmp_path):
    package = _package(
        tmp_path / "iblearn" / "estimators" / "neural",
        {
            "nwj.py": "from iblearn.estimators.neural.trainer import Trainer\n",
            "bound.py": "from .nwj import NWJ\n",
        },
    )
    assert _neural_violations(package, tmp_path / "iblearn") == [
        "bound.py:1: machinery imports the family nwj",
        "nwj.py:1: a family imports the trainer",
    ]


def _module(path: Path, src: Path) -> str:
    parts = path.relative_to(src.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _circles(src: Path = SRC) -> list[list[str]]:
    """The import circles under ``src``: each a sorted list of modules that reach one another by imports,
    lazy ones and those under ``TYPE_CHECKING`` included (a circle a local import hides is still one).
    ``from package import name`` counts as an import of the module ``package.name`` where there is one
    (a compiled extension through its ``.pyi`` stub), else of the package."""
    paths = {_module(p, src): p for p in src.rglob("*.py")}
    modules = set(paths) | {_module(p, src) for p in src.rglob("*.pyi")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets = set()
        for _, imported in _imports(path, src):
            target = imported if imported in modules else imported.rsplit(".", 1)[0]
            if target in modules and target != name:
                targets.add(target)
        graph[name] = targets
    # Tarjan's strongly connected components, iteratively: a component of more than one module is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


# Circles being taken apart elsewhere: each entry goes when its circle does (the test then fails until it
# is struck off, so the list only shrinks).
KNOWN_CIRCLES: list[list[str]] = []


def test_no_module_imports_itself_round_a_circle():
    """Two modules that import each other (lazily or not) are one concept in two files, or share a piece
    that belongs below both: move that piece down, never hide the import in a function."""
    assert _circles() == sorted(KNOWN_CIRCLES)


def test_the_circle_check_sees_a_lazy_import_and_a_compiled_module(tmp_path):
    files = {
        "__init__.py": "",
        "estimate.py": "from iblearn.cli import estimate_many\n",
        "estimate_many.py": "def f():\n    from iblearn.cli.estimate import g\n",
        "_kernel.pyi": "",
        "kernel.py": "from iblearn.cli import _kernel\n",
    }
    _package(tmp_path / "iblearn" / "cli", files)
    assert _circles(tmp_path / "iblearn") == [["iblearn.cli.estimate", "iblearn.cli.estimate_many"]]


def _private_imports(src: Path = SRC) -> set[tuple[str, str]]:
    """(module, name) of every private name (``_name``, not a module) imported from another module."""
    found = set()
    for path in src.rglob("*.py"):
        for node in ast.walk(_tree(path)):
            source = node.module or "" if isinstance(node, ast.ImportFrom) else ""
            if not source.startswith("iblearn"):
                continue
            folder = src.parent / source.replace(".", "/")
            for alias in node.names:
                name = alias.name
                module = [folder / f"{name}.py", folder / f"{name}.pyi", folder / name]
                if name.startswith("_") and not name.startswith("__") and not any(p.exists() for p in module):
                    found.add((source, name))
    return found


def test_few_private_names_cross_a_module():
    """A name another module needs is that module's interface, and public; the private names imported
    across modules are a package's own implementation details, at most 12."""
    assert len(_private_imports()) <= 12, sorted(_private_imports())


# Rooms: packages whose modules are floors of their own, each importing only floors below it (and, for a
# room of a layer, only the layers below that layer and the shared helpers). A new module of a room is
# refused until it has a floor here.
ROOMS: dict[str, dict[str, int]] = {
    # one task type and the sums of entropies; the builders by kind of joint; those built on a
    # Gaussian's; the tables; the look-ups by name
    "iblearn.data.tasks": {
        "base": 0,
        "gaussian": 1,
        "student": 1,
        "discrete": 1,
        "labels": 1,
        "series": 2,
        "mixtures": 2,
        "pid": 2,
        "tables": 3,
        "registry": 4,
        "__init__": 5,
    },
    # the measurement pipeline: the libraries' readers under the reading of the inputs; that and the
    # checks below everything else; the one chooser; the checks' pieces for labels and the Gaussian; the
    # one verdict; a named estimator's split and call, judged by it; the automatic rule on two variables;
    # the measures (pairs, labels, many variables, series, storage); the front door; the package's API
    # on top
    "iblearn.estimation": {
        "libraries": 0,
        "reading": 1,
        "all_pairs": 2,
        "autocheck": 0,
        "choose": 1,
        "auto_discrete": 2,
        "auto_gaussian": 1,
        "probe": 1,
        "verdict": 2,
        "split": 3,
        "labels": 3,
        "pid_labels": 3,
        "auto": 4,
        "pairs": 5,
        "many": 5,
        "series": 6,
        "storage": 7,
        "door": 8,
        "__init__": 9,
    },
    # atomic writes and JSON below everything; the package's API on top
    "iblearn.records": {
        "atomic": 0,
        "tables": 0,
        "checkpoints": 1,
        "batches": 1,
        "runs": 2,
        "__init__": 3,
    },
    # the pure math, in rooms (a module or a sub-package each): scaling, the linearity test and the one
    # result below everything; series blocks, the inference core, the closed forms and the leaves (Renyi,
    # the exact IB, the discrete estimators' kernels); bounds and discrete entropies; the neighbour engine;
    # the measures of many variables on it; the package's API on top
    "iblearn.functional": {
        "scale": 0,
        "linearity": 0,
        "result": 0,
        "serial": 1,
        "inference": 1,
        "gaussian": 1,
        "gaussian_classes": 1,
        "quadratic_classes": 2,
        "canonical": 1,
        "noisy": 1,
        "renyi": 1,
        "ib": 1,
        "bounds": 2,
        "discrete": 2,
        "knn": 3,
        "multivariate": 4,
        "cmi_surrogates": 4,  # network inference's CMI of candidates and their surrogates
        "information_dynamics": 5,
        "__init__": 6,
    },
    # the exact neighbour search (and the compiled sieve bootstrap's series beside it); KSG's formula and
    # the counting kernels; the counts; the estimators on
    # two variables; conditional MI and many pairs; local permutations and transfer entropy; the nulls;
    # what the other rooms may use (engine), and the room's API
    "iblearn.functional.knn": {
        "_maxnorm": 0,  # compiled (its stub, _maxnorm.pyi)
        "formula": 0,
        "neighbors": 1,
        "sieve": 2,
        "bivariate": 2,
        "fused": 2,
        "fused_sorted": 3,
        "fused_cmi": 3,
        "mixed": 2,
        "options": 2,
        "counts": 3,
        "batched": 4,
        "ksg": 4,
        "cmi": 5,
        "cmi_batched": 6,
        "pair_batches": 4,
        "pairwise_edges": 0,
        "pairwise_stream": 5,
        "pairwise": 6,
        "permutations": 6,
        "transfer": 6,
        "nulls": 7,
        "engine": 8,
        "__init__": 9,
    },
    # the fingerprint and simple corrections; NSB and JVHW; the functions on samples; their inference and
    # the choice of method; the room's API
    "iblearn.functional.discrete": {
        "estimators": 0,
        "nsb": 1,
        "pym": 1,
        "jvhw": 1,
        "entropies": 2,
        "inference": 3,
        "__init__": 4,
    },
    # the result and its envelope; the deterministic encoders; the iteration; the sweep; the critical
    # betas; the curves; the room's API
    "iblearn.functional.ib": {
        "_iterate": 0,  # compiled (its stub, _iterate.pyi)
        "result": 0,
        "deterministic": 1,
        "iterate_np": 1,
        "iterate": 2,
        "solver": 3,
        "anneal": 3,
        "critical": 4,
        "exact": 5,
        "__init__": 6,
    },
    # the Gram matrices; the truncated spectrum; the entropies on them; the room's API
    "iblearn.functional.renyi": {"gram": 0, "spectrum": 0, "entropy": 1, "__init__": 2},
    # the variables and their checks; the entropies' sums; the measures and the PID; their inference and
    # the subset search; the room's API
    "iblearn.functional.multivariate": {
        "inputs": 0,
        "_pid_lattice": 0,
        "_pid_measures": 0,
        "_broja": 0,
        "pid_discrete": 2,
        "phiid_atoms": 0,
        "pid_samples": 3,
        "pid_intervals": 1,
        "pid_sx_knn": 2,
        "core": 1,
        "measures": 2,
        "pid_mmi": 2,
        "pid_gaussian": 2,
        "estimate": 3,
        "search": 3,
        "__init__": 4,
    },
}
#: The one module of a sub-package room that other rooms may import besides the package itself.
INTERNAL_API = "engine"


def _room_of(path: Path, folder: Path) -> str:
    """The room ``path`` lies in: its module's name, or the sub-package it lies under."""
    rel = path.relative_to(folder)
    return rel.parts[0] if len(rel.parts) > 1 else path.stem


def _is_module(src: Path, dotted: str) -> bool:
    base = src.parent / dotted.replace(".", "/")
    return any(p.exists() for p in (base.with_suffix(".py"), base.with_suffix(".pyi"), base / "__init__.py"))


def _room_violations(src: Path = SRC, rooms: dict[str, dict[str, int]] = ROOMS) -> list[str]:
    """A module of a room with no floor, an import of a floor not below the importer's, a private name
    imported from another module of the room, a module inside another room's sub-package imported other
    than through that package or its ``engine``, and the room's own API imported from inside it."""
    bad = []
    for room, floors in rooms.items():
        folder = src.parent / room.replace(".", "/")
        paths = sorted(folder.glob("*.py")) + sorted(folder.glob("*/**/*.py"))
        for path in paths:
            here = _room_of(path, folder)
            if here not in floors:
                bad.append(f"{room}.{here}: a module with no floor in ROOMS")
                continue
            for node in ast.walk(_tree(path)):
                if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith(room):
                    continue
                if node.module != room and not node.module.startswith(room + "."):
                    continue
                inner = node.module.removeprefix(room).lstrip(".")
                names = [inner] if inner else [a.name for a in node.names]
                where = f"{_module(path, src)}:{node.lineno}"
                for dotted in names:
                    there = dotted.split(".")[0]
                    if there == here or there not in floors:
                        if not inner and there not in floors and path.stem != "__init__":
                            bad.append(f"{where}: imports {there} from the room's API, inside the room")
                        continue
                    if floors[there] >= floors[here]:
                        bad.append(f"{where}: imports {there}, not on a floor below")
                    if (folder / there).is_dir() and dotted not in (there, f"{there}.{INTERNAL_API}"):
                        bad.append(f"{where}: imports {dotted}, inside the room {there}")
                bad += [
                    f"{where}: imports the private {a.name} of {node.module}"
                    for a in node.names
                    if a.name.startswith("_")
                    and not a.name.startswith("__")
                    and not _is_module(src, f"{node.module}.{a.name}")
                ]
    return bad


def test_the_rooms_of_a_package_import_down_their_floors():
    assert _room_violations() == []


def test_the_room_check_sees_an_import_up_a_floor_and_a_private_name(tmp_path):
    files = {
        "atomic.py": "from iblearn.records.runs import RunFolder\n",
        "runs.py": "from iblearn.records.atomic import _umask\n",
        "extra.py": "",
    }
    _package(tmp_path / "iblearn" / "records", files)
    floors = {"iblearn.records": {"atomic": 0, "runs": 1}}
    assert _room_violations(tmp_path / "iblearn", floors) == [
        "iblearn.records.atomic:1: imports runs, not on a floor below",
        "iblearn.records.extra: a module with no floor in ROOMS",
        "iblearn.records.runs:1: imports the private _umask of iblearn.records.atomic",
    ]


FUNCTIONAL = "iblearn.functional"


def _impure_functional(src: Path = SRC) -> list[str]:
    """A module of ``functional`` that imports the records layer (``functional`` is tensor math: its
    batches, progress and checkpoint folders go through ``iblearn.parallel``), and a module outside
    ``functional`` that imports one of its private modules or names (a ``_name`` below ``functional``):
    what other layers use of it is public."""
    bad = []
    for path in sorted(src.rglob("*.py")):
        inside = _module(path, src).startswith(FUNCTIONAL)
        for line, module in _imports(path, src):
            parts = module.split(".")
            if inside and parts[1] == "records":
                bad.append(f"{path.relative_to(src)}:{line}: functional imports {module}")
            private = [p for p in parts[2:] if p.startswith("_") and not p.startswith("__")]
            if not inside and parts[1] == "functional" and private:
                bad.append(f"{path.relative_to(src)}:{line}: imports the private {module}")
    return bad


def test_functional_is_math_and_shows_other_layers_public_names_only():
    assert _impure_functional() == []


def test_the_functional_check_sees_records_and_a_private_module(tmp_path):
    files = {
        "functional/knn/pairs.py": "from iblearn.records import BatchStore\n",
        "functional/_scale.py": "",
        "functional/knn/_maxnorm.py": "",
        "functional/search.py": "from iblearn import records\nfrom iblearn.functional import _scale\n",
        "network/target.py": "from iblearn.functional._scale import scale\n",
        "sklearn/scores.py": "from iblearn.functional.knn import _maxnorm, ksg_mi\n",
        "estimators/base.py": "from iblearn.functional.scale import scale\nfrom iblearn import records\n",
    }
    _package(tmp_path / "iblearn", files)
    assert _impure_functional(tmp_path / "iblearn") == [
        "functional/knn/pairs.py:1: functional imports iblearn.records.BatchStore",
        "functional/search.py:1: functional imports iblearn.records",
        "network/target.py:1: imports the private iblearn.functional._scale.scale",
        "sklearn/scores.py:1: imports the private iblearn.functional.knn._maxnorm",
    ]
