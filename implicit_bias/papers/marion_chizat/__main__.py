"""``python -m implicit_bias.papers.marion_chizat figures|claims|bench [args]``."""

import sys

from implicit_bias.papers._cli import paper_main
from implicit_bias.papers.marion_chizat import bench, claims, figures

if __name__ == "__main__":
    sys.exit(
        paper_main(
            "marion_chizat",
            lambda argv: figures.main(argv) and 0,
            {"claims": claims.main, "bench": lambda argv: bench.main(argv) and 0},
        )
    )
