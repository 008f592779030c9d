"""Plot a spectral density (log scale) with certified outlier eigenvalues marked.

matplotlib is imported when the function is called, not with the package: the library's
numerical core does not need it.
"""

from typing import Any

import numpy as np

from .density import SpectralDensity


def plot_density(
    density: SpectralDensity,
    ax: Any = None,
    *,
    sigma: float | None = None,
    grid: np.ndarray | None = None,
    outliers: np.ndarray | None = None,
    label: str | None = None,
    color: str | None = None,
    floor: float = 1e-8,
) -> Any:
    r"""Draw :math:`\phi_\sigma` (log density against eigenvalue), outliers marked.

    Args:
        density: one (unbatched) :class:`SpectralDensity`.
        ax: a matplotlib ``Axes``; ``None`` makes a new figure.
        sigma: smoothing width; default 1% of the node range (or 1e-3 if all nodes coincide).
        grid: eigenvalue axis; default 2000 points over the node range widened by
            :math:`5\sigma`.
        outliers: eigenvalues to mark with triangles above the curve, e.g. the certified
            ``topk(...).eigenvalues`` (the SLQ nodes themselves carry no certificate).
        label, color: passed to ``ax.semilogy``.
        floor: densities below it are drawn at it (the log axis has no zero).

    Returns:
        The ``Axes``.
    """
    import matplotlib.pyplot as plt

    nodes = np.asarray(density.nodes)
    lo, hi = float(nodes.min()), float(nodes.max())
    if sigma is None:
        sigma = 0.01 * (hi - lo) if hi > lo else 1e-3
    if grid is None:
        grid = np.linspace(lo - 5 * sigma, hi + 5 * sigma, 2000)
    values = np.asarray(density.density(grid.astype(nodes.dtype), sigma))
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    (line,) = ax.semilogy(grid, np.maximum(values, floor), label=label, color=color)
    if outliers is not None:
        outliers = np.asarray(outliers)
        top = max(float(values.max()), floor)
        ax.plot(
            outliers,
            np.full(outliers.shape, 2 * top),
            "v",
            color=line.get_color(),
            markersize=6,
            label=None if label is None else f"{label}: top eigenvalues",
        )
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel(rf"density $\phi_\sigma$ ($\sigma$ = {sigma:.2g})")
    return ax
