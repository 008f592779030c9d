"""Vardi & Shamir (2021), "Implicit regularization in ReLU networks with the square loss"
(COLT): single ReLU neurons and one-hidden-neuron networks trained by gradient flow.

    python -m implicit_bias.papers.vardi_shamir figures [fig1 | fig2]

* :mod:`.fig1`: Theorem 4.1's data set, trajectories for several gamma (Fig. 1).
* :mod:`.fig2`: the one-hidden-neuron network, w3(inf) against delta (Fig. 2(b)).
"""
