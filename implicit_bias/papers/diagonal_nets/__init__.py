"""The lecture notes, diagonal linear networks (x = u*u -> L1, Woodworth et al. 2020) and mirror
descent.

    python -m implicit_bias.papers.diagonal_nets figures [diagonal_alpha | mirror_descent]
"""
