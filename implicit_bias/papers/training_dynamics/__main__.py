"""``python -m implicit_bias.papers.training_dynamics figures [NAME [--docs]]``."""

import sys

from implicit_bias.papers._cli import paper_main
from implicit_bias.papers.training_dynamics import figures

if __name__ == "__main__":
    sys.exit(paper_main("training_dynamics", figures.FIGURES))
