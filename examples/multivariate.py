"""Information among many variables on scikit-learn's diabetes data: which groups of measurements are
redundant, which synergistic, and what two predictors tell about disease progression together.

The data (442 patients, 10 baseline measurements and a measure of disease progression a year later;
Efron et al. 2004) ship with scikit-learn. The script

1. searches all triplets of the 11 variables for the highest O-information (redundant groups: the same
   information in each) and the lowest (synergistic groups: information only in the whole);
2. prints the total correlation of the six blood-serum measurements s1..s6 and how it splits;
3. decomposes what BMI and s5 (log serum triglycerides) tell about the progression into redundant,
   unique and synergistic parts (MMI partial information decomposition).

Every measure is in nats, estimated by KSG (k = 3); the search uses the Gaussian copula (fast) and then
re-estimates the top groups by KSG.

    python examples/multivariate.py            # triplets and quadruplets
    python examples/multivariate.py --quick    # triplets only
"""

from __future__ import annotations

import argparse

import torch
from sklearn.datasets import load_diabetes

from iblearn import functional as ibf


def load() -> tuple[torch.Tensor, list[str]]:
    """The 10 measurements and the progression as columns of one ``(442, 11)`` float64 tensor."""
    data = load_diabetes()
    x = torch.cat([torch.from_numpy(data.data), torch.from_numpy(data.target)[:, None]], dim=1)
    return x.to(torch.float64), [*data.feature_names, "progression"]


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="triplets only")
    parser.add_argument("--seed", type=int, default=0, help="seeds the KSG tie-breaking jitter")
    parser.add_argument("--top", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    x, names = load()
    sizes = (3,) if args.quick else (3, 4)

    found = ibf.o_information_search(x, sizes=sizes, method="copula", top=args.top)
    print(f"O-information of {found.evaluated} groups (copula; then KSG):")
    groups: dict[str, list[tuple[list[str], float, float]]] = {}
    for label, ranked in (("redundant", found.highest), ("synergistic", found.lowest)):
        groups[label] = []
        for subset, value in ranked:
            ksg = float(ibf.o_information(x[:, list(subset)], seed=args.seed))
            groups[label].append(([names[j] for j in subset], value, ksg))
            print(f"  {label:12s} {', '.join(names[j] for j in subset):32s} {value:+.3f}  KSG {ksg:+.3f}")

    serum = x[:, [names.index(f"s{i}") for i in range(1, 7)]]
    tc = float(ibf.total_correlation(serum, seed=args.seed))
    dtc = float(ibf.dual_total_correlation(serum, seed=args.seed))
    print(f"s1..s6: total correlation {tc:.3f}, dual total correlation {dtc:.3f}, O = {tc - dtc:+.3f} nats")

    bmi, s5, target = (x[:, names.index(n)] for n in ("bmi", "s5", "progression"))
    parts = ibf.pid(bmi, s5, target, seed=args.seed)
    print(
        f"I(bmi, s5; progression) = {float(parts.total):.3f} nats: "
        + ", ".join(f"{name} {float(value):.3f}" for name, value in zip(parts._fields, parts, strict=True))
    )
    return {"groups": groups, "serum_tc": tc, "serum_dtc": dtc, "pid": parts}


if __name__ == "__main__":
    main()
