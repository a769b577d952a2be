"""Merge the run folders of Vasudevan's (2020) protocol on MNIST / LeNet-5, which ran split by method (one a
core), into one folder with the report one run would have written: config (with ``merged_from``),
metrics, the range test, results, table and figure.

    python docs/results/mi-lr/merge_protocol.py OUT FOLDER...
"""

import csv
import json
import shutil
import sys
from dataclasses import fields
from pathlib import Path

from iblearn.experiments import mi_lr
from iblearn.experiments.mi_lr import report as mi_lr_report
from iblearn.records import RunFolder, read_json

out, parts = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
configs = {str(p): read_json(p / "config.json") for p in parts}
base = configs[str(parts[0])]
methods = [m for c in configs.values() for m in c["methods"]]
shutil.rmtree(out, ignore_errors=True)
folder = RunFolder(out)
folder.write_config({**base, "methods": methods, "merged_from": {k: c["methods"] for k, c in configs.items()}})
for p in parts:
    with open(p / "metrics.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            folder.append_metrics({k: v for k, v in row.items() if v is not None})
for cached in parts[0].glob("lr_range-*"):
    shutil.copy(cached, out / cached.name)
names = {f.name for f in fields(mi_lr.Config)}
config = mi_lr.Config(
    **{k: tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v
       for k, v in {**base, "methods": methods}.items() if k in names}
)
ranges = {}
for dataset, name in config.runs:
    ranges[f"{dataset}|{name}"] = json.loads((out / f"lr_range-{dataset}-{name}.json").read_text())["range"]
summary = mi_lr_report.summarize(folder.metrics())
folder.write_results({"summary": summary, "ranges": ranges, "not_run": {}}, seed=base["seed"], device=base["device"])
folder.write_table(mi_lr_report.table(summary, ranges, {}, config))
mi_lr_report.plot(folder)
print(folder.file("table.md").read_text())
