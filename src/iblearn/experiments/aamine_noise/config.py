"""The configuration of ``iblearn reproduce aamine-noise`` (Elad et al. 2019, Fig. 1) and its presets."""

from __future__ import annotations

from dataclasses import dataclass

from iblearn.experiments.options import (
    NOISE_STD_MAX,
    check_pairs,
    check_positive,
    check_rate_float32,
    check_widths,
)

MIN_STEPS_FOR_GROWTH_CLAIM = 2500


@dataclass(frozen=True)
class Config:
    input_dim: int = 10
    widths: tuple[int, ...] = (10, 10, 5)  # the 3 layers of the random MLP
    noise_vars: tuple[float, ...] = (0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    n_train: int = 8192
    n_test: int = 2048
    rounds: int = 6  # estimates are recorded after every round of `steps` training steps
    steps: int = 500
    hidden: int = 64
    lr: float = 2e-3

    def __post_init__(self) -> None:
        check_widths(self.widths)
        check_positive("lr", self.lr)
        check_rate_float32("lr", [self.lr])
        # Added to the net's tanh outputs, in [-1, 1]: a larger variance leaves noise alone (NOISE_STD_MAX).
        for var in self.noise_vars:
            if not var <= NOISE_STD_MAX**2:
                raise ValueError(
                    f"noise_vars: at most {NOISE_STD_MAX**2:.3g} (a std of 2^24): float32 keeps 24 bits, so "
                    "a noise of larger std rounds away the net's outputs, in [-1, 1], and leaves noise "
                    f"alone; got {var!r}"
                )
        # MINE's marginal term pairs each sample with another's output.
        check_pairs("MINE", n_train=self.n_train, n_test=self.n_test)

    @classmethod
    def demo(cls) -> Config:
        """``iblearn demo``'s preset: three noise levels, 2 rounds of 250 steps."""
        return cls(noise_vars=(0.0, 1e-2, 1.0), n_train=4096, n_test=1024, rounds=2, steps=250)

    def progress_steps(self) -> int:
        """How many times ``run`` reports progress: once per (noise, critic) pair."""
        return 2 * len(self.noise_vars)

    @classmethod
    def full(cls) -> Config:
        return cls(
            input_dim=784,
            widths=(256, 256, 32),
            noise_vars=(0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0),
            n_train=20_000,
            n_test=5000,
            rounds=10,
            steps=1000,
            hidden=256,
            lr=5e-4,
        )
