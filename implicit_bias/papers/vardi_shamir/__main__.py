"""``python -m implicit_bias.papers.vardi_shamir figures [NAME [options]]``."""

import sys

from implicit_bias.papers._cli import paper_main
from implicit_bias.papers.vardi_shamir import fig1, fig2

if __name__ == "__main__":
    sys.exit(paper_main("vardi_shamir", {"fig1": fig1.cli, "fig2": fig2.cli}))
