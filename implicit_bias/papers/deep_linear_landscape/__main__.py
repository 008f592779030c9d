"""``python -m implicit_bias.papers.deep_linear_landscape figures``."""

import sys

from implicit_bias.papers._cli import paper_main
from implicit_bias.papers.deep_linear_landscape import landscape

if __name__ == "__main__":
    sys.exit(paper_main("deep_linear_landscape", {"landscape": landscape.cli}))
