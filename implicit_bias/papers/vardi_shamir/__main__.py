"""``python -m implicit_bias.papers.vardi_shamir figures [NAME [options]] | claims [options]``."""

import sys

from implicit_bias.papers._cli import paper_main
from implicit_bias.papers.vardi_shamir import (
    claims,
    fig2,
    relu_convention,
    theorem41,
    theorem42,
)

if __name__ == "__main__":
    sys.exit(
        paper_main(
            "vardi_shamir",
            {
                "theorem41": theorem41.cli,
                "theorem42": theorem42.cli,
                "fig2": fig2.cli,
                "relu_convention": relu_convention.cli,
            },
            {"claims": claims.main},
        )
    )
