"""Scripts that reproduce the figures of docs/ (``python -m implicit_bias.figures.<name>``)."""
