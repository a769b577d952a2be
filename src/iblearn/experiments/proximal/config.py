"""The configuration of ``iblearn reproduce proximal`` (Han et al. 2023): the paper's (alpha, beta, gamma) per
data set and optimizer, the rows of its tables (:class:`Method`), the run's :class:`Config`, and which
rows a config runs, in which order."""

from __future__ import annotations

from dataclasses import dataclass

from iblearn.data.vision import LOADERS
from iblearn.experiments.options import (
    check_float32,
    check_names,
    check_noise_std,
    check_pairs,
    check_positive,
    check_rate_float32,
    check_rates,
)

# (alpha, beta, gamma) per (dataset, optimizer), Sec. IV-A-4. Fashion-MNIST uses MNIST's.
SETTINGS_IMAGE = {
    ("mnist", "Adam"): (1e-3, 10.0, 1e-3),
    ("mnist", "AdamW"): (1e-3, 0.1, 1e-3),
    ("mnist", "NAdam"): (1e-3, 0.01, 0.1),
    ("mnist", "AdamP"): (1e-4, 0.1, 1e-3),
    ("cifar10", "Adam"): (1e-4, 0.01, 0.01),
    ("cifar10", "AdamW"): (1e-4, 0.01, 0.01),
    ("cifar10", "NAdam"): (1e-4, 0.01, 0.01),
    ("cifar10", "AdamP"): (1e-4, 0.01, 1e-4),  # AdamP gamma garbled
}
SETTINGS_VAE = {
    ("mnist", "Adam"): (1e-4, 0.1, 0.01),
    ("mnist", "AdamW"): (1e-4, 0.001, 0.001),
    ("mnist", "NAdam"): (1e-4, 0.1, 1e-4),
    ("mnist", "AdamP"): (1e-4, 0.1, 1e-4),
    ("cifar10", "Adam"): (1e-4, 0.1, 1e-4),
    ("cifar10", "AdamW"): (1e-4, 0.1, 0.001),  # Adam's garbled
    ("cifar10", "NAdam"): (1e-4, 0.1, 1e-4),
    ("cifar10", "AdamP"): (1e-4, 0.1, 1e-4),
}

# Fig. 3's settings (Sec. IV-A): full-batch gradient descent, alpha = 0.1, beta = 10, gamma = 100.
BINARY_ALPHA, BINARY_BETA = 0.1, 10.0


@dataclass(frozen=True)
class Method:
    """One row of the tables: how theta and phi are trained.

    ``kind`` is ``"backprop"`` (one optimizer on the whole network at ``lr``, alpha by default),
    ``"split-lr"`` (plain backprop, theta at the rate the kept reading gives it and phi at alpha: the
    control that separates the split's learning rates from its second-order term) or ``"proximal"``
    (ProximalSplit with ``order``, ``keep_first_order`` and ``constraint``; ``gamma`` overrides the
    setting's).
    """

    name: str
    kind: str = "proximal"
    order: int = 2
    keep_first_order: bool | None = True
    constraint: str = "l2"
    lr: float | None = None
    gamma: float | None = None


NETWORK_METHODS = (
    Method("baseline", "backprop"),
    Method("split-lr backprop", "split-lr"),
    Method("ours"),  # eq. (5) keeping eq. (4)'s first-order term: ProximalSplit's default
    Method("ours literal", keep_first_order=False),  # the literal eq. (5)
)
# Table 3's ablation, with the default reading; Sec. IV-C-2: L1 and Huber diverged at L2's gamma, so 0.01.
ABLATION = (
    Method("first-order l2", order=1, keep_first_order=None),
    Method("second-order l1", constraint="l1", gamma=0.01),
    Method("second-order huber", constraint="huber", gamma=0.01),
)


@dataclass(frozen=True)
class Config:
    parts: tuple[str, ...] = ("binary", "image", "vae")
    binary_iterations: int = 5000
    binary_gammas: tuple[float, ...] = (100.0, 1.0, 0.1)  # the paper's gamma, then a sweep
    # The baseline at the paper's alpha, then faster rates: the baseline at a tuned rate (a control).
    binary_baseline_lrs: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)
    image_datasets: tuple[str, ...] = ("mnist", "fashion-mnist", "cifar10")
    vae_datasets: tuple[str, ...] = ("mnist", "cifar10")
    optimizers: tuple[str, ...] = ("Adam", "AdamW", "NAdam", "AdamP")
    methods: tuple[str, ...] = ()  # restrict the image and VAE rows to these names; () for all
    seeds: int = 3
    epochs: int = 10
    vae_epochs: int = 10
    train_size: int | None = None  # None: the whole training set
    test_size: int | None = None
    batch_size: int = 128
    width: int = 32  # channels of the first conv layers (ours; the paper gives none)
    noise_std: float = 0.4  # input noise of the denoising VAE, on [-1, 1] images (ours)
    ablation: bool = True
    lam: float = 1.0  # lambda = 1 in all the paper's experiments

    def __post_init__(self) -> None:
        check_names("parts", self.parts, ("binary", "image", "vae"))
        check_names("image_datasets", self.image_datasets, LOADERS)
        check_names("vae_datasets", self.vae_datasets, LOADERS)
        check_names("optimizers", self.optimizers, dict.fromkeys(opt for _, opt in SETTINGS_IMAGE))
        check_names("methods", self.methods, [m.name for m in (*NETWORK_METHODS, *ABLATION)])
        if "binary" in self.parts:
            check_rates("binary_gammas", self.binary_gammas)
        check_positive("lam", self.lam)
        check_float32("lam", [self.lam])
        check_float32("binary_gammas", self.binary_gammas)
        check_rate_float32("binary_baseline_lrs", self.binary_baseline_lrs)
        check_noise_std("noise_std", self.noise_std)  # added to images in [-1, 1]
        if "vae" in self.parts:
            # A batch norm layer in training takes the spread of its batch.
            check_pairs(
                "the VAE's batch norm (a batch)", batch_size=self.batch_size, train_size=self.train_size
            )

    @classmethod
    def demo(cls) -> Config:
        """``iblearn demo``'s preset: Fig. 3's binary task alone, at the paper's gamma, one seed."""
        return cls(parts=("binary",), binary_gammas=(100.0,), binary_baseline_lrs=(0.1, 10.0), seeds=1)

    def progress_steps(self) -> int:
        """How many times ``run`` reports progress: once per binary seed and per trained network."""
        nets = sum(
            len(methods_run(self, part, dataset, opt_name))
            for opt_name in self.optimizers
            for part, dataset in jobs(self)
        )
        return self.seeds * (("binary" in self.parts) + nets)

    @classmethod
    def quick(cls) -> Config:
        return cls(
            binary_iterations=3000,
            binary_gammas=(100.0,),
            binary_baseline_lrs=(0.1, 10.0),
            image_datasets=("mnist",),
            vae_datasets=("mnist",),
            optimizers=("Adam",),
            seeds=1,
            epochs=2,
            vae_epochs=2,
            train_size=6000,
            test_size=2000,
            width=16,
        )


def paper_settings(part: str, dataset: str, opt_name: str) -> tuple[float, float, float]:
    """(alpha, beta, gamma) of Sec. IV-A-4 for a part ("image" or "vae"); Fashion-MNIST uses MNIST's."""
    family = "cifar10" if dataset == "cifar10" else "mnist"
    return (SETTINGS_IMAGE if part == "image" else SETTINGS_VAE)[(family, opt_name)]


def theta_rate(opt_name: str, beta: float, gamma: float, lam: float) -> float:
    """The rate at which the kept reading moves theta along grad_theta L: with SGD its step is
    gamma lam beta (grad_theta L + beta/2 grad_theta ||grad_z L||^2); an adaptive optimizer divides the
    constant factor lam beta out again, leaving gamma."""
    return gamma * lam * beta if opt_name == "SGD" else gamma


def binary_methods(config: Config) -> list[Method]:
    """Fig. 3's rows: the baseline at alpha and at faster rates, then for each gamma the split-rate
    backprop control, both readings of eq. (5), and (at the paper's gamma) eq. (4)."""
    methods = [Method(f"baseline lr={lr:g}", "backprop", lr=lr) for lr in config.binary_baseline_lrs]
    for i, gamma in enumerate(config.binary_gammas):
        methods += [
            Method(f"split-lr backprop gamma={gamma:g}", "split-lr", gamma=gamma),
            Method(f"ours gamma={gamma:g}", gamma=gamma),
            Method(f"ours literal gamma={gamma:g}", keep_first_order=False, gamma=gamma),
        ]
        if i == 0:  # with SGD and l2, the same update as the split-rate control: shown once
            methods.append(
                Method(f"first-order gamma={gamma:g}", order=1, keep_first_order=None, gamma=gamma)
            )
    return methods


def network_methods(part: str, dataset: str, config: Config) -> list[Method]:
    methods = list(NETWORK_METHODS)
    if part == "vae" and config.ablation and dataset == config.vae_datasets[0]:
        methods += ABLATION
    return [m for m in methods if not config.methods or m.name in config.methods]


def methods_run(config: Config, part: str, dataset: str, opt_name: str) -> list[Method]:
    """The rows ``run`` trains for one (part, data set, optimizer): :func:`network_methods` less the
    ablation beyond the first optimizer (it runs with the first only) and a split-rate control whose
    rates are both alpha (the baseline itself)."""
    alpha, beta, gamma = paper_settings(part, dataset, opt_name)
    return [
        m
        for m in network_methods(part, dataset, config)
        if not (m in ABLATION and opt_name != config.optimizers[0])
        and not (m.kind == "split-lr" and theta_rate(opt_name, beta, gamma, config.lam) == alpha)
    ]


def jobs(config: Config) -> list[tuple[str, str]]:
    """(part, data set) in the order they run: each data set's image part, then its VAE part, so that a
    run stopped early has the first data set's rows of both."""
    jobs = []
    for dataset in dict.fromkeys((*config.image_datasets, *config.vae_datasets)):
        for part, datasets in (("image", config.image_datasets), ("vae", config.vae_datasets)):
            if part in config.parts and dataset in datasets:
                jobs.append((part, dataset))
    return jobs
