"""Shared command-line set-up of the figure scripts."""

import argparse
import logging
from pathlib import Path


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
