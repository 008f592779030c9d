"""Shared command-line set-up of the paper reproductions.

Each paper's package runs as ``python -m implicit_bias.papers.<paper> <command> [args]`` with
the commands ``figures`` (every figure, or the ones named), ``claims`` and ``bench`` where the
paper has them (:func:`paper_main`).
"""

import argparse
import logging
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

#: The repository's top level, and the folder of the committed figures.
REPO = Path(__file__).resolve().parents[2]
DOCS_FIGURES = REPO / "docs" / "figures"

#: A command: ``cli(argv) -> exit status`` (``None`` means 0).
Command = Callable[[list[str]], int | None]


def figure_parser(doc: str, out: Path) -> argparse.ArgumentParser:
    """Configure logging (INFO for us, JAX quiet) and return a parser with ``--out``.

    Args:
        doc: the script's module docstring (its first line describes the figure).
        out: the default output path of the figure.
    """
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in ("jax", "jax._src"):
        logging.getLogger(name).setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=out)
    return parser


def paper_main(
    paper: str,
    figures: Mapping[str, Command] | Command,
    commands: Mapping[str, Command] | None = None,
    argv: list[str] | None = None,
) -> int:
    """``python -m implicit_bias.papers.<paper> figures [NAME ...] | <command> [args]``.

    Args:
        paper: the package name, for the usage line.
        figures: the figure scripts by name (``figures`` runs them all, ``figures NAME [args]``
            one, with its own options), or one command that takes the arguments itself.
        commands: the other commands (``claims``, ``bench``), each given the remaining
            arguments.
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    commands = dict(commands or {})
    names = ["figures", *commands]
    usage = f"usage: python -m implicit_bias.papers.{paper} {{{','.join(names)}}} [args]"
    if not argv or argv[0] not in names:
        if isinstance(figures, Mapping):
            usage += f"\n  figures [{' | '.join(figures)}] [its options]: draw (default: all)"
        print(usage, file=sys.stderr)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    command, rest = argv[0], argv[1:]
    if command != "figures":
        return commands[command](rest) or 0
    if not isinstance(figures, Mapping):
        return figures(rest) or 0
    if rest and rest[0] in figures:
        return figures[rest[0]](rest[1:]) or 0
    if rest:
        print(f"{usage}\n  unknown figure {rest[0]!r}: one of {list(figures)}", file=sys.stderr)
        return 2
    for cli in figures.values():
        status = cli([]) or 0
        if status:
            return status
    return 0
