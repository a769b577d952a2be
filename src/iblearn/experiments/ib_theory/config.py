"""The configuration of ``iblearn reproduce ib-theory`` (Amjad & Geiger 2019) and its presets, the
information planes' among them (:mod:`.plane`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from iblearn.experiments.ib_theory import plane as ib_plane

#: The neighbours of the KSG beside eq. (5) (its default).
LINEAR_K = 3


@dataclass(frozen=True)
class Config:
    dataset_size: int = 12  # Fig. 1(b): points drawn from the continuous input
    examples_n: int = 400  # samples per Fig. 2/3 data set
    output_noise: float = 0.1  # std of the noise added to Y~ in the noisy form (outputs lie in [0, 1])
    input_noise: float = 0.04  # std of the noise added to X in the stochastic-net column
    linear_n: int = 5000
    plane: ib_plane.Config = field(default_factory=ib_plane.Config)

    def __post_init__(self) -> None:
        # What the command's ranges (at least 1, at least 0) let through and a part cannot run.
        if self.linear_n <= LINEAR_K:
            raise ValueError(
                f"linear_n: KSG (k = {LINEAR_K}) needs more than {LINEAR_K} samples, got {self.linear_n}"
            )
        if not self.output_noise > 0:
            raise ValueError(f"output_noise: the noisy form needs a noise above 0, got {self.output_noise}")

    @classmethod
    def full(cls) -> Config:
        return cls(linear_n=20000, plane=ib_plane.Config.full())

    @classmethod
    def demo(cls) -> Config:
        """``iblearn demo``'s preset: information planes on 1,000 MNIST images, 8 epochs."""
        return cls(plane=ib_plane.Config(train_size=1000, eval_size=300, epochs=8, records=5))

    def progress_steps(self) -> int:
        """How many times ``run`` reports progress: once per information plane."""
        return len(self.plane.runs)
