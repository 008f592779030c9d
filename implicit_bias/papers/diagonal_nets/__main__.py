"""``python -m implicit_bias.papers.diagonal_nets figures [NAME [options]]``."""

import sys

from implicit_bias.papers._cli import paper_main
from implicit_bias.papers.diagonal_nets import diagonal_alpha, mirror_descent

if __name__ == "__main__":
    sys.exit(
        paper_main(
            "diagonal_nets",
            {"diagonal_alpha": diagonal_alpha.cli, "mirror_descent": mirror_descent.cli},
        )
    )
