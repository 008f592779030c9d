"""Marion & Chizat (2024), "Deep linear networks for regression are implicitly regularized
towards flat minima" (NeurIPS): every figure's grid, the claims report and the benchmark.

    python -m implicit_bias.papers.marion_chizat figures [--fig 1,2,...] [--quick]
    python -m implicit_bias.papers.marion_chizat claims [--quick]
    python -m implicit_bias.papers.marion_chizat bench [--figs ...]

* :mod:`.experiments`: the grids, run through the library (one compiled program per figure).
* :mod:`.figures`: the figures drawn from them.
* :mod:`.claims`: the paper's quantitative claims checked on fresh runs.
* :mod:`.bench`: wall and compile time of the whole reproduction.
"""
