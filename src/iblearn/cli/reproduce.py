"""``iblearn reproduce``: run a reproduction and write its run folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markdown import Markdown
from rich.markup import escape

from iblearn import _reproductions
from iblearn.cli.console import Subparsers, out, progress_bar
from iblearn.cli.inputs import config_file, key_value

#: The reproductions by name and what each reproduces, for ``reproduce --help`` (read from the one table,
#: :mod:`iblearn._reproductions`, which imports nothing).
REPRODUCTION_NAMES = {name: about for name, (_, about) in _reproductions.REPRODUCTIONS.items()}


def cmd_reproduce(args: argparse.Namespace) -> int:
    from iblearn.experiments import EXPERIMENTS, REPRODUCTIONS, ReproduceOptions, torchrun

    if args.name not in REPRODUCTIONS:
        raise ValueError(
            f"NAME: unknown reproduction {args.name!r}; known: {', '.join(sorted(REPRODUCTIONS))}"
        )
    fields = config_file(args.config) if args.config else {}
    # A run folder's config.json also records what ran it: the experiment's name (no field), and the
    # seed and device, which are the run's own unless the command line gives others.
    recorded = {key: fields.pop(key) for key in ("experiment", "seed", "device") if key in fields}
    owner = next((name for name, e in EXPERIMENTS.items() if e == recorded.get("experiment")), args.name)
    if owner != args.name:
        raise ValueError(
            f"--config: {args.config} records a run of {owner}, not of {args.name}; rerun it with "
            f"`iblearn reproduce {owner} --config {args.config}`"
        )
    seed = args.seed if args.seed is not None else recorded.get("seed", 0)
    device = args.device or ("cuda" if str(recorded.get("device", "cpu")).startswith("cuda") else "cpu")
    quiet = torchrun.launched_rank() != 0  # under torchrun rank 0 alone reports
    with progress_bar(None, args.name, disable=quiet) as step:
        options = ReproduceOptions(
            full=args.full,
            out=Path(args.out) if args.out else None,
            seed=seed,
            device=device,
            resume=args.resume,
            overrides={**fields, **dict(args.set or [])},
            progress=step,
            planned=step.planned,
        )
        path = REPRODUCTIONS[args.name](options)
    if quiet:
        return 0
    table = path / "table.md"
    if table.exists():
        out.print(Markdown(table.read_text(encoding="utf-8")))
    out.print(f"[dim]records: {escape(str(path))}[/dim]")
    return 0


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    """The command's parser under ``sub``, with the options of ``common``."""
    rep = sub.add_parser(
        "reproduce",
        parents=[common],
        help="run a reproduction and write its run folder",
        epilog="reproductions:\n" + "\n".join(f"  {k:<14}{v}" for k, v in REPRODUCTION_NAMES.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rep.add_argument("name", metavar="NAME", help="which reproduction (listed below)")
    size = rep.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="full", action="store_false", help="minutes on two CPU cores (default)")
    size.add_argument("--full", dest="full", action="store_true", help="the full reproduction")
    rep.add_argument("--out", default=None, help="run folder (default runs/NAME-quick or runs/NAME-full)")
    rep.add_argument(
        "--seed",
        type=int,
        default=None,
        help="in [0, 2^32); default 0, or the seed a run's config.json records",
    )
    rep.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default=None,
        help="default cpu, or the device a run's config.json records",
    )
    rep.add_argument("--resume", action="store_true", help="continue a killed run from its records")
    rep.add_argument(
        "--set",
        type=key_value,
        action="append",
        metavar="KEY=VALUE",
        help="change a field of the preset config (VALUE as JSON), e.g. --set seeds=5",
    )
    rep.add_argument(
        "--config",
        metavar="FILE",
        help="a .json or .toml file of config fields to change, as --set does (--set wins); a run "
        "folder's config.json reruns that run",
    )
    rep.set_defaults(func=cmd_reproduce, full=False)
