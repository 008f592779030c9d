"""The lecture slides (Yao), least squares and margins: the minimum-norm limit of GD / SGD /
two-layer linear networks, early stopping against ridge, and the max-margin direction.

    python -m implicit_bias.papers.least_squares figures [NAME]

with NAME one of ``min_norm``, ``early_stopping_ridge``, ``max_margin`` (default: all).
"""
