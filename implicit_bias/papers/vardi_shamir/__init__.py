"""Vardi & Shamir (2021), "Implicit regularization in ReLU networks with the square loss"
(COLT): single ReLU neurons and one-hidden-neuron networks, by gradient flow and GD.

    python -m implicit_bias.papers.vardi_shamir figures [theorem41|theorem42|fig2|relu_convention]
    python -m implicit_bias.papers.vardi_shamir claims [--quick]

* :mod:`.theorem41`: Theorem 4.1 over gamma (flow and GD vs the exact two-phase closed forms),
  Figure 1 (the plane x3 . w = 0 and the zero-loss line M) and the theorem's cases.
* :mod:`.theorem42`: Theorem 4.2 / Lemma 4.1 (an R explaining every limit is constant).
* :mod:`.fig2`: Section 6, Figure 2(a, b) and Lemma 6.1.
* :mod:`.relu_convention`: relu'(0) = 1 in every model (the MLP from ``init=zero_first``).
* :mod:`.transforms`: rotations and scalings of the data (Theorem 4.2's argument, Lemma 6.2,
  Corollary 6.3).
* :mod:`.audit`: the Theorem 4.1 data set against every statement of the paper text.
* :mod:`.claims`: the claims table (README).
* :mod:`.experiments`: the engine runs shared by all of them.
"""
