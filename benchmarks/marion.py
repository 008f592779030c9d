"""Wall time of the whole Marion & Chizat (2024) reproduction: the paper's ``bench`` command.

    python benchmarks/marion.py [--figs 1,1cd,2,4,...] [--quick] [--workers N]

is ``python -m implicit_bias.papers.marion_chizat bench`` (see
:mod:`implicit_bias.papers.marion_chizat.bench`; figure names in
:data:`implicit_bias.papers.marion_chizat.figures.FIGURES`).
"""

import sys

from implicit_bias.papers.marion_chizat.bench import main

if __name__ == "__main__":
    main(sys.argv[1:])
