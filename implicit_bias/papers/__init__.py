"""The paper reproductions, one sub-package per source (the outer ring).

* :mod:`.marion_chizat`: Marion & Chizat (2024), deep linear networks -> flat minima.
* :mod:`.vardi_shamir`: Vardi & Shamir (2021), ReLU networks with the square loss.
* :mod:`.least_squares`: the lecture slides' least squares (min-norm, early stopping ~ ridge)
  and margins (max margin).
* :mod:`.diagonal_nets`: the lecture notes' diagonal networks (x = u*u -> L1) and mirror descent.
* :mod:`.matrix_factorization`: the lecture notes' matrix factorization (sensing, completion,
  Razin & Cohen's counterexample).
* :mod:`.deep_linear_landscape`: the lecture notes' landscape statement (every local minimum
  of a deep linear network is global, Kawaguchi 2016) as an experiment.

Each runs as ``python -m implicit_bias.papers.<name> figures|claims|bench``. Papers import the
app (:mod:`implicit_bias.app`) and the library; nothing imports them (``docs/architecture.md``).
"""
