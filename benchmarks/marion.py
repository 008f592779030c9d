"""Wall time of the whole Marion & Chizat (2024) reproduction: the paper's ``bench`` command.

    python benchmarks/marion.py [--figs 1,flow,1cd,2,4,5,6,7] [--quick] [--workers N]

is ``python -m implicit_bias.papers.marion_chizat bench`` (see
:mod:`implicit_bias.papers.marion_chizat.bench`).
"""

import sys

from implicit_bias.papers.marion_chizat.bench import main

if __name__ == "__main__":
    main(sys.argv[1:])
