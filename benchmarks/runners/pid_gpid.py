"""Run in gpid's own virtual environment (github.com/praveenv253/gpid on the path): read cases
``[{"name", "cov", "dims": [dm, dx, dy]}]`` (gpid's order: target, x, y) as JSON on stdin, write each
one's ~-PID atoms ``(redundancy, unique_x, unique_y, synergy)`` in nats and its CPU seconds."""

import json
import sys
import time

import matplotlib

matplotlib.use("Agg")
import numpy as np
from gpid.tilde_pid import exact_gauss_tilde_pid

out = []
for case in json.load(sys.stdin):
    start = time.process_time()
    ret = exact_gauss_tilde_pid(np.asarray(case["cov"]), *case["dims"])
    spent = time.process_time() - start
    uix, uiy, ri, si = (float(v) * np.log(2) for v in ret[-4:])  # gpid reports bits
    out.append({"name": case["name"], "atoms": [ri, uix, uiy, si], "cpu_s": spent})
json.dump(out, sys.stdout)
