"""``python -m implicit_bias.papers.matrix_factorization figures [NAME [options]]``."""

import sys

from implicit_bias.papers._cli import paper_main
from implicit_bias.papers.matrix_factorization import figures, razin_cohen

if __name__ == "__main__":
    sys.exit(
        paper_main("matrix_factorization", {"figures": figures.cli, "razin_cohen": razin_cohen.cli})
    )
