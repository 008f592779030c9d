"""Marion & Chizat (2024), "Deep linear networks for regression are implicitly regularized
towards flat minima" (NeurIPS): every figure under the paper's protocol, every theorem checked
run by run, and the benchmark.

    python -m implicit_bias.papers.marion_chizat figures [--fig NAME,...] [--quick] [--replot]
    python -m implicit_bias.papers.marion_chizat claims [--quick] [--rerun]
    python -m implicit_bias.papers.marion_chizat bench [--figs ...]

* :mod:`.authors`: the authors' data sets, projections and two inits, replayed from their key
  chain; :mod:`.components`: library components holding such fixed draws.
* :mod:`.grid`, :mod:`.experiments`: the paper's grids through the library (one compiled
  program per figure); :mod:`.flows`: the gradient flows of Sections 4-5 and the width /
  depth / condition-number sweeps; :mod:`.runs`: every data set by name, saved before use.
* :mod:`.bounds`, :mod:`.criteria`, :mod:`.assumptions`, :mod:`.lemma2`, :mod:`.lemma3`,
  :mod:`.rescaling`, :mod:`.stats`: the paper's quantities, each checked against an
  independent computation in ``tests/test_marion.py``.
* :mod:`.figures` (:mod:`.draw_paper`, :mod:`.draw_theory`), :mod:`.claims`, :mod:`.bench`.
"""
