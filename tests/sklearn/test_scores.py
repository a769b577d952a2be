"""iblearn.sklearn's score functions on inputs scikit-learn's own handle."""

from __future__ import annotations

import numpy as np
import torch

from iblearn.sklearn import mutual_info_classif

torch.set_num_threads(1)


def test_classes_seen_once_are_left_out_as_scikit_learn_does():
    # Four rows with two classes seen once: "k=3 needs more than 3 samples, got N=2".
    rng = np.random.default_rng(0)
    scores = mutual_info_classif(rng.normal(size=(4, 2)), np.array([0, 1, 1, 2]))
    assert scores.shape == (2,) and np.all(np.abs(scores) < 1e-9)
