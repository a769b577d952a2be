"""The table of reproductions: name -> (its module under :mod:`iblearn.experiments`, what it reproduces).

One table, read by :data:`iblearn.experiments.REPRODUCTIONS` (each module's ``run``) and by the command
line, whose ``--help`` lists them without importing the experiments (and torch).
"""

REPRODUCTIONS: dict[str, tuple[str, str]] = {
    "estimators": ("estimators", "MI estimators against closed-form truth (no paper)"),
    "aamine-noise": ("aamine_noise", "paper 002, Fig. 1: AA-MINE against MINE on a noisy random MLP"),
    "proximal": ("proximal", "paper 000: ProximalSplit, Fig. 3 and the image and VAE tables"),
    "mi-lr": ("mi_lr", "paper 004: the LR range test and MIDecayLR against Adam, RMSprop, LARS"),
    "mole": ("mole", "paper 001, Table 1: MOLE's module-wise training against backpropagation"),
    "layerwise-ib": ("layerwise_ib", "paper 002, Table 1 and Fig. 3: layer-wise IB training"),
    "ib-theory": ("ib_theory", "paper 003: the IB functional of deterministic nets, information planes"),
}
