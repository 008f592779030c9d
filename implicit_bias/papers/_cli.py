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

#: The repository's top level, the folder of the committed figures, and where figure scripts
#: write by default (never into the repository's tracked files).
REPO = Path(__file__).resolve().parents[2]
DOCS_FIGURES = REPO / "docs" / "figures"
OUTPUT_FIGURES = Path("outputs") / "figures"

#: A command: ``cli(argv) -> exit status`` (``None`` means 0).
Command = Callable[[list[str]], int | None]


class _FigureParser(argparse.ArgumentParser):
    """Resolves ``--out`` / ``--docs`` after parsing: the figure goes to ``--out``, else to the
    committed ``docs/figures/<name>`` with ``--docs``, else to ``outputs/figures/<name>``."""

    def __init__(self, docs_path: Path, **kwargs):
        super().__init__(**kwargs)
        self.docs_path = Path(docs_path)
        self.add_argument(
            "--out",
            type=Path,
            default=None,
            help=f"where to write the figure (default: {OUTPUT_FIGURES / self.docs_path.name})",
        )
        self.add_argument(
            "--docs",
            action="store_true",
            help=f"write the committed figure {self.docs_path} instead",
        )

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        parsed = super().parse_args(args, namespace)
        if parsed.out is None:
            parsed.out = self.docs_path if parsed.docs else OUTPUT_FIGURES / self.docs_path.name
        parsed.out.parent.mkdir(parents=True, exist_ok=True)
        logging.getLogger(__name__).info("figure -> %s", parsed.out)
        return parsed


def figure_parser(doc: str, out: Path) -> argparse.ArgumentParser:
    """Configure logging (INFO for us, JAX quiet) and return a parser with ``--out`` and
    ``--docs``.

    Figure scripts never edit the repository by default: without options a figure goes to
    ``outputs/figures/<name>``; ``--docs`` writes the committed ``docs/figures/<name>``.

    Args:
        doc: the script's module docstring (its first line describes the figure).
        out: the committed figure's path (``docs/figures/<name>``).
    """
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in ("jax", "jax._src"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return _FigureParser(out, description=doc.splitlines()[0])


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
