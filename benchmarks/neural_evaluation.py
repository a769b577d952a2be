"""Each library's reported neural estimate against its own critic's bound, on the low-MI tasks.

Trains iblearn's and torch-mist's MINE, NWJ and JS exactly as benchmarks/neural_estimators.py does
(same critic, batches, steps), then evaluates both critics two ways: torch-mist's (chunks of 1,024 test
samples, one negative a sample, averaged) and a reference (the bound pooled over all 10,000 test samples
with 64 negatives a sample). See benchmarks/runners/neural_eval.py.

    python benchmarks/neural_evaluation.py [--seeds N] [--tasks NAME,...]

Writes benchmarks/results/neural_evaluation.json (after every row; a killed run resumes) and .md.
Needs the bench extra (torch-mist).
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

from pathlib import Path

from benchmarks.runners.neural_eval import LOW_MI_TASKS, evaluation_row, evaluation_table
from benchmarks.runners.script import parser
from iblearn.records import environment, read_json, write_json

if __name__ == "__main__":
    arguments = parser(__doc__)
    arguments.add_argument("--seeds", type=int, default=3)
    arguments.add_argument("--tasks", default=",".join(LOW_MI_TASKS))
    args = arguments.parse_args()
    path = Path(args.results) / "neural_evaluation.json"
    rows = read_json(path)["rows"] if path.exists() else []
    done = {(r["task"], r["estimator"], r["seed"]) for r in rows}
    commit = environment()["git_commit"]
    for task in args.tasks.split(","):
        for kind in ("mine", "nwj", "js"):
            for seed in range(args.seeds):
                if (task, kind, seed) in done:
                    continue
                rows.append({**evaluation_row(task, kind, seed), "commit": commit})
                write_json(path, {"rows": rows})
                print(task, kind, seed, flush=True)
    table = evaluation_table(rows)
    (Path(args.results) / "neural_evaluation.md").write_text(table, encoding="utf-8")
    print(table)
