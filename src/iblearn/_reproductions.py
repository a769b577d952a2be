"""The table of reproductions: name -> (its module under :mod:`iblearn.experiments`, what it reproduces).

One table, read by :data:`iblearn.experiments.REPRODUCTIONS` (each module's ``run``) and by the command
line, whose ``--help`` lists them without importing the experiments (and torch).
"""

REPRODUCTIONS: dict[str, tuple[str, str]] = {
    "estimators": ("estimators", "MI estimators against closed-form truth (no paper)"),
    "aamine-noise": ("aamine_noise", "Elad et al. 2019, Fig. 1: AA-MINE against MINE on a noisy random MLP"),
    "proximal": ("proximal", "Han et al. 2023: ProximalSplit, Fig. 3 and the image and VAE tables"),
    "mi-lr": ("mi_lr", "Vasudevan 2020: the LR range test and MIDecayLR against Adam, RMSprop, LARS"),
    "mole": ("mole", "Li & Pei 2023, Table 1: MOLE's module-wise training against backpropagation"),
    "layerwise-ib": ("layerwise_ib", "Elad et al. 2019, Table 1 and Fig. 3: layer-wise IB training"),
    "ib-theory": (
        "ib_theory",
        "Amjad & Geiger 2019: the IB functional of deterministic nets, information planes",
    ),
}
