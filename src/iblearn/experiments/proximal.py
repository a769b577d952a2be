"""``iblearn reproduce proximal``: the experiments of paper 000 (Han, Nakamura & Hong 2023).

1. Binary classification (Fig. 3): 600 points from N(0, I) in 2-D, 4 hidden layers of 8 sigmoid units,
   bottleneck in the middle, full-batch gradient descent, alpha = 0.1, beta = 10, gamma = 100, MSE.
2. Image classification (Table 2 left, Fig. 1): 4 conv layers | MLP, cross-entropy, with Adam, AdamW,
   NAdam and AdamP at the paper's (alpha, beta, gamma); baseline = the same optimizer on the whole
   network at rate alpha.
3. Denoising VAE (Table 2 right, Table 3): reconstruct the clean image from a noisy one, bottleneck
   (mu, sigma), MSE loss (eq. 6 defines L as the mean square loss; no KL term), PSNR; ablations
   first- vs second-order and L2 / L1 / Huber (gamma = 0.01 for L1 and Huber, as the paper did).

Where the paper is silent we chose, and the config records it: the binary labels (inside or outside
the circle of median radius: the paper shows its data only as a figure), layer widths, epochs, batch
size (128), the input noise of the VAE (std 0.4 on [-1, 1] images, every class), and Fashion-MNIST in
place of CIFAR-10 where no offline copy exists (CIFAR-10 rows are run if the archive can be found or
downloaded, and marked "not run" otherwise). The extracted text of the paper garbles several
hyper-parameters and the VAE table; values we reconstructed are marked with "?" in ``PAPER_*``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iblearn.data.vision import load_images, to_float
from iblearn.experiments.common import ReproduceOptions, RunCheckpoint
from iblearn.models.proximal import binary_mlp, conv_classifier, denoising_vae, psnr
from iblearn.optim import ProximalSplit
from iblearn.records import RunFolder, markdown_table

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
# Table 2 (left): train loss, train accuracy %, test accuracy % as (mean, sd).
PAPER_IMAGE = {
    ("mnist", "baseline", "Adam"): ((0.16, 0.01), (94.76, 0.03), (97.74, 0.04)),
    ("mnist", "baseline", "AdamW"): ((0.16, 0.01), (94.77, 0.03), (97.69, 0.10)),
    ("mnist", "baseline", "NAdam"): ((0.11, 0.01), (96.33, 0.09), (98.39, 0.16)),
    ("mnist", "baseline", "AdamP"): ((0.11, 0.01), (96.35, 0.11), (98.35, 0.14)),
    ("mnist", "ours", "Adam"): ((0.13, 0.01), (95.78, 0.07), (98.12, 0.02)),
    ("mnist", "ours", "AdamW"): ((0.13, 0.01), (95.94, 0.08), (98.24, 0.09)),
    ("mnist", "ours", "NAdam"): ((0.13, 0.01), (95.91, 0.05), (97.96, 0.16)),
    ("mnist", "ours", "AdamP"): ((0.14, 0.01), (95.66, 0.04), (98.16, 0.13)),
    ("cifar10", "baseline", "Adam"): ((0.64, 0.01), (76.99, 0.28), (68.95, 0.95)),
    ("cifar10", "baseline", "AdamW"): ((0.72, 0.01), (74.78, 0.15), (70.72, 0.42)),
    ("cifar10", "baseline", "NAdam"): ((0.64, 0.01), (76.97, 0.20), (69.20, 0.42)),
    ("cifar10", "baseline", "AdamP"): ((0.71, 0.01), (74.90, 0.32), (71.00, 0.52)),
    ("cifar10", "ours", "Adam"): ((0.67, 0.01), (76.62, 0.42), (69.69, 0.51)),
    ("cifar10", "ours", "AdamW"): ((0.74, 0.01), (74.20, 0.21), (72.18, 0.58)),
    ("cifar10", "ours", "NAdam"): ((0.67, 0.01), (76.72, 0.43), (70.42, 0.86)),
    ("cifar10", "ours", "AdamP"): ((0.74, 0.01), (74.13, 0.09), (71.81, 0.98)),
}
# Table 2 (right): train PSNR, test PSNR (dB). Reconstructed from a garbled extraction.
PAPER_VAE = {
    ("mnist", "baseline", "Adam"): ((22.76, 0.03), (21.78, 0.06)),
    ("mnist", "baseline", "AdamW"): ((23.03, 0.03), (21.88, 0.05)),
    ("mnist", "baseline", "NAdam"): ((23.19, 0.03), (21.87, 0.02)),
    ("mnist", "baseline", "AdamP"): ((22.58, 0.02), (21.74, 0.08)),
    ("mnist", "ours", "Adam"): ((25.17, 0.11), (24.24, 0.08)),
    ("mnist", "ours", "AdamW"): ((25.58, 0.04), (23.95, 0.06)),
    ("mnist", "ours", "NAdam"): ((25.36, 0.08), (24.19, 0.12)),
    ("mnist", "ours", "AdamP"): ((25.12, 0.02), (24.11, 0.05)),
    ("cifar10", "baseline", "Adam"): ((20.73, 0.02), (19.06, 0.03)),
    ("cifar10", "baseline", "AdamW"): ((20.78, 0.01), (19.08, 0.03)),  # train PSNR: "?"
    ("cifar10", "baseline", "NAdam"): ((20.73, 0.02), (19.06, 0.01)),  # train PSNR: "?"
    ("cifar10", "baseline", "AdamP"): ((20.17, 0.10), (19.01, 0.10)),
    ("cifar10", "ours", "Adam"): ((20.87, 0.04), (20.27, 0.04)),
    ("cifar10", "ours", "AdamW"): ((21.69, 0.03), (19.77, 0.07)),
    ("cifar10", "ours", "NAdam"): ((21.59, 0.03), (19.76, 0.09)),
    ("cifar10", "ours", "AdamP"): ((21.49, 0.02), (20.00, 0.04)),
}
# Table 3: train PSNR, test PSNR (dB), the ablations of the VAE.
PAPER_ABLATION = {
    "baseline": ((23.08, 0.04), (21.87, 0.06)),
    "first-order l2": ((22.81, 0.04), (21.81, 0.08)),
    "second-order l1": ((23.58, 0.15), (23.18, 0.21)),
    "second-order huber": ((23.93, 0.14), (23.47, 0.17)),
    "ours": ((25.09, 1.10), (24.19, 0.12)),
}
ABLATION_METHODS = {
    "first-order l2": (1, "l2"),
    "second-order l1": (2, "l1"),
    "second-order huber": (2, "huber"),
}


@dataclass(frozen=True)
class Config:
    parts: tuple[str, ...] = ("binary", "image", "vae")
    binary_iterations: int = 5000
    binary_gammas: tuple[float, ...] = (100.0, 1.0, 0.1)  # the paper's gamma, then a sweep
    image_datasets: tuple[str, ...] = ("mnist", "fashion-mnist", "cifar10")
    vae_datasets: tuple[str, ...] = ("mnist", "cifar10")
    optimizers: tuple[str, ...] = ("Adam", "AdamW", "NAdam", "AdamP")
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

    @classmethod
    def quick(cls) -> Config:
        return cls(
            binary_iterations=3000,
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


def _optimizer(name: str) -> Any:  # an optimizer class; called with (params, lr=...)
    if name == "AdamP":
        try:
            from adamp import AdamP
        except ImportError as err:
            raise ValueError("optimizers: AdamP needs the adamp package (pip install adamp)") from err
        return AdamP  # type: ignore[no-any-return]
    options = {
        "Adam": torch.optim.Adam,
        "AdamW": torch.optim.AdamW,
        "NAdam": torch.optim.NAdam,
        "SGD": torch.optim.SGD,
    }
    if name not in options:
        raise ValueError(f"optimizers: unknown optimizer {name!r}; known: {', '.join([*options, 'AdamP'])}")
    return options[name]


def _make_optimizer(
    method: str,
    f: nn.Module,
    g: nn.Module,
    opt_name: str,
    settings: tuple[float, float, float],
    config: Config,
) -> Any:  # torch.optim.Optimizer, or ProximalSplit (step takes a closure)
    alpha, beta, gamma = settings
    cls = _optimizer(opt_name)
    if method == "baseline":
        return cls([*f.parameters(), *g.parameters()], lr=alpha)
    order, constraint = ABLATION_METHODS.get(method, (2, "l2"))
    if method in ("second-order l1", "second-order huber"):
        gamma = 0.01  # Sec. IV-C-2: L1 and Huber diverged at L2's gamma
    return ProximalSplit(
        f.parameters(),
        g.parameters(),
        cls,
        lr_backward=alpha,
        lr_forward=gamma,
        beta=beta,
        lam=config.lam,
        order=order,
        constraint=constraint,
    )


def _closure(
    f: nn.Module,
    g: nn.Module,
    x: Tensor,
    loss_of: Callable[[Tensor], Tensor],
    seen: dict[str, Tensor] | None = None,
) -> Callable[[], tuple[Tensor, Tensor]]:
    """ProximalSplit's closure: the loss of g(f(x)) and the bottleneck f(x); g's output kept in ``seen``."""

    def closure() -> tuple[Tensor, Tensor]:
        z = f(x)
        out = g(z)
        if seen is not None:
            seen["out"] = out
        return loss_of(out), z

    return closure


def _vae_closure(
    enc: nn.Module, dec: nn.Module, noisy: Tensor, clean: Tensor, seen: dict[str, Tensor]
) -> Callable[[], tuple[Tensor, tuple[Tensor, Tensor]]]:
    def closure() -> tuple[Tensor, tuple[Tensor, Tensor]]:
        mu, sigma = enc(noisy)
        seen["rec"] = dec(mu + sigma * torch.randn_like(sigma))  # eq. (6): z = mu + sigma * eps
        return F.mse_loss(seen["rec"], clean), (mu, sigma)

    return closure


def _batches(n: int, size: int, gen: torch.Generator) -> list[Tensor]:
    return list(torch.split(torch.randperm(n, generator=gen), size))


# ------------------------------------------------------------------------------------------ part 1
def binary_data(seed: int) -> tuple[Tensor, Tensor]:
    """600 points from N(0, I) in 2-D; class 1 outside the circle of median radius (chi2_2 median 2 ln 2)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(600, 2, generator=gen)
    return x, ((x**2).sum(dim=1) > 2 * math.log(2)).float()[:, None]


def _normal_init(module: nn.Module) -> None:
    """N(0, 1) weights, zero biases. With PyTorch's default initialization neither method learns this
    task at alpha = 0.1 (five sigmoid layers shrink the gradient; measured: chance level after 20,000
    full-batch iterations); with N(0, 1) the baseline reaches 98.7% in 5,000."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight)
        nn.init.zeros_(module.bias)


def run_binary(run: RunFolder, config: Config, seed: int, device: torch.device) -> None:
    x, y = (t.to(device) for t in binary_data(seed))
    for method in ("baseline", *(f"ours gamma={g:g}" for g in config.binary_gammas)):
        key = f"binary|2d|SGD|{method}|{seed}"
        if any(r.get("key") == key for r in run.metrics()):
            continue
        torch.manual_seed(seed)
        f, g = binary_mlp()
        f, g = f.apply(_normal_init).to(device), g.apply(_normal_init).to(device)
        if method == "baseline":
            opt: Any = torch.optim.SGD([*f.parameters(), *g.parameters()], lr=0.1)
        else:
            gamma = float(method.split("=")[1])
            opt = ProximalSplit(
                f.parameters(),
                g.parameters(),
                torch.optim.SGD,
                lr_backward=0.1,
                lr_forward=gamma,
                beta=10.0,
                lam=config.lam,
            )
        rows = []
        for it in range(1, config.binary_iterations + 1):
            if method == "baseline":
                opt.zero_grad()
                loss = F.mse_loss(g(f(x)), y)
                loss.backward()
                opt.step()
            else:
                loss = opt.step(_closure(f, g, x, partial(F.mse_loss, target=y)))
            if it % max(1, config.binary_iterations // 100) == 0 or it == 1:
                with torch.no_grad():
                    acc = float(((g(f(x)) > 0.5).float() == y).float().mean()) * 100
                rows.append({"key": key, "epoch": it, "train_loss": float(loss.detach()), "train_acc": acc})
        for r in rows:  # a run this short is redone whole after a kill, so its rows land together
            run.append_metrics(r)


# ------------------------------------------------------------------------------------------ part 2
def run_image(
    run: RunFolder,
    config: Config,
    dataset: str,
    data: dict[str, tuple[Tensor, Tensor]],
    opt_name: str,
    method: str,
    seed: int,
    device: torch.device,
) -> None:
    key = f"image|{dataset}|{opt_name}|{method}|{seed}"
    (xtr, ytr), (xte, yte) = data["train"], data["test"]
    settings = SETTINGS_IMAGE[("cifar10" if dataset == "cifar10" else "mnist", opt_name)]
    torch.manual_seed(seed)
    f, g = (m.to(device) for m in conv_classifier(xtr.shape[1], 10, config.width, xtr.shape[-1]))
    opt = _make_optimizer(method, f, g, opt_name, settings, config)
    runner = RunCheckpoint(run, key)
    start = runner.epochs_done([f, g], opt)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(start):
        torch.randperm(len(xtr), generator=gen)  # keep the batch order of an unbroken run
    for epoch in range(start + 1, config.epochs + 1):
        f.train()
        g.train()
        total, correct, seen = 0.0, 0, 0
        for idx in _batches(len(xtr), config.batch_size, gen):
            xb, yb = xtr[idx].to(device), ytr[idx].to(device)
            if method == "baseline":
                opt.zero_grad()
                logits = g(f(xb))
                loss = F.cross_entropy(logits, yb)
                loss.backward()
                opt.step()
            else:
                seen_out: dict[str, Tensor] = {}
                loss = opt.step(_closure(f, g, xb, partial(F.cross_entropy, target=yb), seen_out))
                logits = seen_out["out"]
            total += float(loss.detach()) * len(yb)
            correct += int((logits.argmax(dim=1) == yb).sum())
            seen += len(yb)
        f.eval()
        g.eval()
        with torch.no_grad():
            hits = sum(
                int((g(f(xte[i : i + 1000].to(device))).argmax(dim=1) == yte[i : i + 1000].to(device)).sum())
                for i in range(0, len(xte), 1000)
            )
        runner.save(
            epoch,
            [f, g],
            opt,
            {
                "train_loss": total / seen,
                "train_acc": 100 * correct / seen,
                "test_acc": 100 * hits / len(xte),
            },
        )
    runner.close()


# ------------------------------------------------------------------------------------------ part 3
def run_vae(
    run: RunFolder,
    config: Config,
    dataset: str,
    data: dict[str, tuple[Tensor, Tensor]],
    opt_name: str,
    method: str,
    seed: int,
    device: torch.device,
) -> None:
    key = f"vae|{dataset}|{opt_name}|{method}|{seed}"
    xtr, xte = data["train"][0], data["test"][0]
    settings = SETTINGS_VAE[("cifar10" if dataset == "cifar10" else "mnist", opt_name)]
    torch.manual_seed(seed)
    enc, dec = (m.to(device) for m in denoising_vae(xtr.shape[1], 128, config.width))
    opt = _make_optimizer(method, enc, dec, opt_name, settings, config)
    runner = RunCheckpoint(run, key)
    start = runner.epochs_done([enc, dec], opt)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(start):
        torch.randperm(len(xtr), generator=gen)
    for epoch in range(start + 1, config.vae_epochs + 1):
        enc.train()
        dec.train()
        total, quality, seen = 0.0, 0.0, 0
        for idx in _batches(len(xtr), config.batch_size, gen):
            clean = xtr[idx].to(device)
            noisy = clean + config.noise_std * torch.randn_like(clean)
            out: dict[str, Tensor] = {}
            closure = _vae_closure(enc, dec, noisy, clean, out)

            if method == "baseline":
                opt.zero_grad()
                loss = closure()[0]
                loss.backward()
                opt.step()
            else:
                loss = opt.step(closure)
            total += float(loss.detach()) * len(idx)
            quality += float(psnr(out["rec"].detach(), clean)) * len(idx)
            seen += len(idx)
        enc.eval()
        dec.eval()
        with torch.no_grad():
            test_psnr = _test_psnr(enc, dec, xte, config.noise_std, seed, device)
        runner.save(
            epoch,
            [enc, dec],
            opt,
            {"train_loss": total / seen, "train_psnr": quality / seen, "test_psnr": test_psnr},
        )
    runner.close()


def _test_psnr(
    enc: nn.Module, dec: nn.Module, xte: Tensor, noise_std: float, seed: int, device: torch.device
) -> float:
    gen = torch.Generator().manual_seed(10_000 + seed)  # the same noisy test images for every method
    values = []
    for i in range(0, len(xte), 1000):
        clean = xte[i : i + 1000]
        noisy = (clean + noise_std * torch.randn(clean.shape, generator=gen)).to(device)
        mu, _ = enc(noisy)
        values.append(float(psnr(dec(mu), clean.to(device))) * len(clean))
    return sum(values) / len(xte)


# ---------------------------------------------------------------------------------------------- run
def _load(
    dataset: str, config: Config, seed: int, range_: tuple[float, float]
) -> dict[str, tuple[Tensor, Tensor]] | str:
    """Train and test tensors (32 x 32 floats), or the reason they cannot be had."""
    try:
        parts = {split: load_images(dataset, split) for split in ("train", "test")}
    except (OSError, FileNotFoundError) as err:
        return f"not run: {dataset} is not available offline here ({str(err)[:80]})"
    sizes = {"train": config.train_size, "test": config.test_size}
    out = {}
    for split, d in parts.items():
        d = d.subset(sizes[split], seed=0)
        out[split] = (to_float(d.images, size=32, range_=range_), d.labels)
    return out


def run(options: ReproduceOptions, config: Config | None = None) -> Path:
    """Run (or resume) the experiments; ``config`` overrides the ``--quick``/``--full`` presets."""
    config = options.configure(config or (Config() if options.full else Config.quick()))
    folder = options.run_folder("proximal")
    device = options.torch_device()
    folder.write_config(
        {"experiment": "paper 000", **asdict(config), "seed": options.seed, "device": str(device)}
    )
    seeds = range(options.seed, options.seed + config.seeds)
    skipped: dict[str, str] = {}
    if "binary" in config.parts:
        for seed in seeds:
            run_binary(folder, config, seed, device)
            _tell(options, f"binary seed {seed}")
    for part, datasets, epochs, runner, range_ in (
        ("image", config.image_datasets, config.epochs, run_image, (0.0, 1.0)),
        ("vae", config.vae_datasets, config.vae_epochs, run_vae, (-1.0, 1.0)),
    ):
        if part not in config.parts:
            continue
        for dataset in datasets:
            data = _load(dataset, config, options.seed, range_)
            if isinstance(data, str):
                skipped[f"{part}|{dataset}"] = data
                continue
            methods = ["baseline", "ours"]
            if part == "vae" and config.ablation and dataset == datasets[0]:
                methods += list(ABLATION_METHODS)
            for opt_name in config.optimizers:
                for method in methods:
                    if method in ABLATION_METHODS and opt_name != config.optimizers[0]:
                        continue  # the ablation runs with the first optimizer only
                    for seed in seeds:
                        if RunCheckpoint(folder, f"{part}|{dataset}|{opt_name}|{method}|{seed}").finished(
                            epochs
                        ):
                            continue
                        runner(folder, config, dataset, data, opt_name, method, seed, device)
                        _tell(options, f"{part} {dataset} {opt_name} {method} seed {seed}")
    summary = summarize(folder.metrics(), config)
    folder.write_results({"summary": summary, "not_run": skipped}, seed=options.seed, device=str(device))
    folder.write_table(table(summary, skipped, config))
    plot(folder, summary)
    return folder.path


def _tell(options: ReproduceOptions, message: str) -> None:
    if options.progress:
        options.progress(message)


def summarize(rows: list[dict[str, str]], config: Config) -> list[dict[str, Any]]:
    """Final-epoch metrics per (part, data set, optimizer, method): mean and sd over seeds."""
    last: dict[str, dict[str, str]] = {}
    for r in rows:
        if r["key"] not in last or int(r["epoch"]) > int(last[r["key"]]["epoch"]):
            last[r["key"]] = r
    groups: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for key, r in last.items():
        part, dataset, opt_name, method, _ = key.split("|")
        groups.setdefault((part, dataset, opt_name, method), []).append(r)
    out = []
    for (part, dataset, opt_name, method), rs in groups.items():
        entry: dict[str, Any] = {
            "part": part,
            "dataset": dataset,
            "optimizer": opt_name,
            "method": method,
            "seeds": len(rs),
            "epoch": int(rs[0]["epoch"]),
        }
        for metric in ("train_loss", "train_acc", "test_acc", "train_psnr", "test_psnr"):
            values = [float(r[metric]) for r in rs if r.get(metric) not in (None, "")]
            if values:
                entry[metric] = (
                    statistics.fmean(values),
                    statistics.stdev(values) if len(values) > 1 else 0.0,
                )
        out.append(entry)
    return out


def _ms(v: tuple[float, float] | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v[0]:.{digits}f} ± {v[1]:.{digits}f}"


def table(summary: list[dict[str, Any]], skipped: dict[str, str], config: Config) -> str:
    lines = [
        "# Paper 000: ProximalSplit against the same optimizer without the split\n",
        "Settings: "
        + (f"{config.epochs} epochs (image), " if "image" in config.parts else "")
        + (f"{config.vae_epochs} epochs (VAE), " if "vae" in config.parts else "")
        + f"batch {config.batch_size}, width {config.width}, train size {config.train_size or 'all'}, "
        f"test size {config.test_size or 'all'}, {config.seeds} seed(s). The paper does not say how long it "
        "trained.\n",
    ]
    binary = [s for s in summary if s["part"] == "binary"]
    if binary:
        lines.append("## Binary classification (Fig. 3: the paper reports curves, no numbers)\n")
        lines.append(
            "The paper: the proposed method converges faster than the baseline at gamma = 100. Here "
            "theta's step descends ||grad_z L||^2 (eq. 5), which a sigmoid network can also shrink by "
            "saturating: compare the gamma sweep.\n"
        )
        lines.append(
            markdown_table(
                ["method", "iterations", "final MSE", "final accuracy %"],
                [
                    [s["method"], s["epoch"], _ms(s.get("train_loss"), 4), _ms(s.get("train_acc"), 1)]
                    for s in binary
                ],
            )
        )
    image = [s for s in summary if s["part"] == "image"]
    if image:
        lines.append("\n## Image classification (Table 2, left)\n")
        rows = []
        for s in image:
            paper = PAPER_IMAGE.get((s["dataset"], s["method"], s["optimizer"]))
            rows.append(
                [
                    s["dataset"],
                    s["method"],
                    s["optimizer"],
                    _ms(s.get("train_loss")),
                    _ms(s.get("train_acc")),
                    _ms(s.get("test_acc")),
                    _ms(paper[2]) if paper else "- (paper: MNIST and CIFAR-10)",
                ]
            )
        lines.append(
            markdown_table(
                [
                    "data",
                    "method",
                    "optimizer",
                    "train loss",
                    "train acc %",
                    "test acc %",
                    "paper test acc %",
                ],
                rows,
            )
        )
    vae = [s for s in summary if s["part"] == "vae"]
    if vae:
        lines.append("\n## Denoising VAE (Table 2, right; Table 3)\n")
        rows = []
        for s in vae:
            psnrs = PAPER_VAE.get((s["dataset"], s["method"], s["optimizer"])) or (
                PAPER_ABLATION.get(s["method"]) if s["dataset"] == "mnist" else None
            )
            rows.append(
                [
                    s["dataset"],
                    s["method"],
                    s["optimizer"],
                    _ms(s.get("train_loss"), 4),
                    _ms(s.get("train_psnr")),
                    _ms(s.get("test_psnr")),
                    f"{_ms(psnrs[0])} / {_ms(psnrs[1])}" if psnrs else "-",
                ]
            )
        lines.append(
            markdown_table(
                [
                    "data",
                    "method",
                    "optimizer",
                    "train MSE",
                    "train PSNR dB",
                    "test PSNR dB",
                    "paper train / test PSNR dB",
                ],
                rows,
            )
        )
    for what, why in skipped.items():
        lines.append(f"\n{what}: {why}")
    return "\n".join(lines) + "\n"


def plot(folder: RunFolder, summary: list[dict[str, Any]]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    rows = folder.metrics()
    curves: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        metric = {"binary": "train_loss", "image": "test_acc", "vae": "test_psnr"}[r["key"].split("|")[0]]
        curves.setdefault(r["key"], []).append((int(r["epoch"]), float(r[metric])))
    parts = [p for p in ("binary", "image", "vae") if any(k.startswith(p) for k in curves)]
    if not parts:
        return
    fig, axes = plt.subplots(1, len(parts), figsize=(5 * len(parts), 4), squeeze=False)
    labels = {"binary": "training MSE", "image": "test accuracy %", "vae": "test PSNR dB"}
    for ax, part in zip(axes[0], parts, strict=True):
        for key, pts in sorted(curves.items()):
            if key.startswith(part):
                _, dataset, opt_name, method, seed = key.split("|")
                ax.plot(
                    *zip(*sorted(pts), strict=True),
                    label=f"{dataset} {opt_name} {method} s{seed}",
                    ls="-" if method.startswith("ours") else "--" if method == "baseline" else ":",
                )
        ax.set_xlabel("iteration" if part == "binary" else "epoch")
        ax.set_ylabel(labels[part])
        ax.set_title(part)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(folder.file("proximal.png"), dpi=110)
    plt.close(fig)


def config_for(options: ReproduceOptions, **overrides: Any) -> Config:
    base = Config() if options.full else Config.quick()
    return replace(base, **overrides)
