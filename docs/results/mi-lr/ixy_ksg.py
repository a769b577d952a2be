"""I(X; Y) of an MNIST training sample as ``--set ixy=ksg`` estimates it (MixedKSG on the pixels, the
paper's KSG route), against H(Y), the bound ``--set ixy=entropy`` takes, at the probe's sample sizes.

    python docs/results/mi-lr/ixy_ksg.py docs/results/mi-lr/ixy_ksg.json
"""

import sys

import torch

from iblearn._provenance import environment
from iblearn.experiments.mi_lr import Config, load
from iblearn.optim.mi_decay import MIProbe
from iblearn.records import write_json

torch.set_num_threads(1)
data = load("mnist", Config())  # all 60,000 training images less the 5,000 held out, as the protocol
rows = []
for n in (500, 1000, 2000):
    probe = MIProbe(*data["train"], n=n, seed=0)
    rows.append({"n": n, "ksg": probe.ixy(estimate=True), "entropy": probe.ixy()})
    print(rows[-1], flush=True)
write_json(sys.argv[1], {"rows": rows, "estimator": "mixed_ksg", "seed": 0, "environment": environment()})
