"""Conditional MI and a conditional-independence test: a causal chain against a collider.

In the chain X -> Z -> Y, X tells about Y only through Z: I(X; Y) > 0 but I(X; Y | Z) = 0, and the
test of "X independent of Y given Z" should not reject. In the collider X -> Y <- Z, X and Z are
independent causes of Y: I(X; Y | Z) > 0, so the test rejects; and conditioning on the common effect
Y makes its causes dependent, I(X; Z) = 0 but I(X; Z | Y) > 0 ("explaining away").

The variables are linear-Gaussian, so the true values are closed forms of their covariance
(iblearn.functional.gaussian_cmi_from_cov), printed beside the KSG estimates (Frenzel & Pompe 2007)
and their p-values (local permutations in z, Runge 2018).

    python examples/conditional_mi.py            # 5,000 samples, 199 permutations a test
    python examples/conditional_mi.py --quick    # 1,000 samples, 49 permutations
"""

from __future__ import annotations

import argparse

import torch

from iblearn import functional as ibf
from iblearn.estimators import KSG

NOISE = 0.7  # std of each variable's own noise


def sample(
    structure: str, n: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` samples of (x, y, z), each ``(n, 1)``, and their true covariance ordered (x, y, z).

    chain:    x = e1,  z = x + s e2,  y = z + s e3
    collider: x = e1,  z = e2,        y = x + z + s e3     (e independent standard normals, s = NOISE)
    """
    s = NOISE
    rows = {  # each variable as a combination of the noises (e1, e2, e3): rows x, y, z
        "chain": [[1.0, 0.0, 0.0], [1.0, s, s], [1.0, s, 0.0]],
        "collider": [[1.0, 0.0, 0.0], [1.0, 1.0, s], [0.0, 1.0, 0.0]],
    }[structure]
    mixing = torch.tensor(rows, dtype=torch.float64)
    e = torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    x, y, z = (e @ mixing.T).split(1, dim=1)
    return x, y, z, mixing @ mixing.T


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 samples, 49 permutations")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    n, permutations = (1000, 49) if args.quick else (5000, 199)

    ksg = KSG(k=5)  # a few more neighbours than KSG's 3: less variance for the test statistic
    results = {}
    for structure in ("chain", "collider"):
        x, y, z, cov = sample(structure, n, args.seed)
        mi = ksg(x, y)
        cmi = ksg(x, y, z=z, n_permutations=permutations, seed=args.seed)  # tests X indep. of Y given Z
        truth_mi = float(ibf.gaussian_mi_from_cov(cov[:2, :2], 1))
        truth_cmi = max(float(ibf.gaussian_cmi_from_cov(cov, 1, 1)), 0.0)  # 0 up to rounding
        print(f"{structure}: I(X; Y)     = {float(mi):.3f} nats (truth {truth_mi:.3f})")
        verdict = "rejected" if cmi.p_value < 0.05 else "not rejected"
        print(
            f"{structure}: I(X; Y | Z) = {float(cmi):.3f} nats (truth {truth_cmi:.3f}), "
            f"p = {cmi.p_value:.3f}: X independent of Y given Z {verdict} at 5%"
        )
        results[structure] = {"mi": float(mi), "cmi": float(cmi), "p_value": cmi.p_value}
    # The collider's causes: independent, until their common effect is known.
    x, y, z, cov = sample("collider", n, args.seed)
    xzy = cov[[0, 2, 1]][:, [0, 2, 1]]  # reordered (x, z, y): condition on y
    i_xz, i_xz_y = ksg(x, z, n_permutations=permutations, seed=args.seed), ksg(x, z, z=y)
    print(f"collider: I(X; Z)     = {float(i_xz):.3f} nats (truth 0), p = {i_xz.p_value:.3f}")
    print(
        f"collider: I(X; Z | Y) = {float(i_xz_y):.3f} nats "
        f"(truth {float(ibf.gaussian_cmi_from_cov(xzy, 1, 1)):.3f}): explaining away"
    )
    results["collider"] |= {"mi_xz": float(i_xz), "cmi_xz_given_y": float(i_xz_y)}
    return results


if __name__ == "__main__":
    main()
