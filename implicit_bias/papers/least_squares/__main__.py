"""``python -m implicit_bias.papers.least_squares figures [NAME [options]]``."""

import sys

from implicit_bias.papers._cli import paper_main
from implicit_bias.papers.least_squares import (
    early_stopping_gd,
    early_stopping_ridge,
    max_margin,
    max_margin_rate,
    min_norm,
    min_norm_ridge,
    two_layer,
)

if __name__ == "__main__":
    sys.exit(
        paper_main(
            "least_squares",
            {
                "min_norm": min_norm.cli,
                "min_norm_ridge": min_norm_ridge.cli,
                "two_layer": two_layer.cli,
                "early_stopping_ridge": early_stopping_ridge.cli,
                "early_stopping_gd": early_stopping_gd.cli,
                "max_margin": max_margin.cli,
                "max_margin_rate": max_margin_rate.cli,
            },
        )
    )
