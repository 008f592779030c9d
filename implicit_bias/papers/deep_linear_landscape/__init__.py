"""The lecture notes' landscape statement (Kawaguchi): GD on deep linear networks stops at a
global minimum or at a saddle, never at a spurious local minimum.

    python -m implicit_bias.papers.deep_linear_landscape figures
"""
