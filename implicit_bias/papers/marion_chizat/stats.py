r"""Means with bootstrap confidence intervals and the log-log regression of Fig 6.

The authors draw their curves with seaborn's ``lineplot`` (``run_experiment.py``), whose
default error band is a 95% percentile bootstrap interval of the mean (1000 resamples) over
the non-missing values (seaborn drops NaN, i.e. diverged runs, whose sharpness is NaN). The
Fig 6 slope is ``scipy.stats.linregress`` of ``log10(gap)`` on ``log10(sharpness)``.
"""

from __future__ import annotations

import numpy as np
import scipy.stats

__all__ = ["bootstrap_mean", "loglog_fit"]


def bootstrap_mean(
    values: np.ndarray, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean over the last axis and its percentile bootstrap interval, ignoring NaN.

    Args:
        values: shape (..., reps); NaN entries are left out (a point with no finite value
            gets NaN everywhere).
        n_boot: bootstrap resamples.
        level: interval level.
        seed: of the resampling (deterministic figures).

    Returns:
        ``(mean, low, high, count)``, each of shape (...).
    """
    v = np.asarray(values, np.float64)
    flat = v.reshape(-1, v.shape[-1])
    rng = np.random.default_rng(seed)
    mean, lo, hi, cnt = (np.full(flat.shape[0], np.nan) for _ in range(4))
    q = 100 * (1 - level) / 2
    for i, row in enumerate(flat):
        x = row[np.isfinite(row)]
        cnt[i] = x.size
        if x.size == 0:
            continue
        mean[i] = x.mean()
        boots = x[rng.integers(0, x.size, (n_boot, x.size))].mean(axis=1)
        lo[i], hi[i] = np.percentile(boots, [q, 100 - q])
    shape = v.shape[:-1]
    return mean.reshape(shape), lo.reshape(shape), hi.reshape(shape), cnt.reshape(shape)


def loglog_fit(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Least-squares line of ``log10 y`` on ``log10 x`` over the finite, positive pairs.

    Returns:
        ``slope``, ``intercept``, ``r``, ``p`` (two-sided, slope = 0), ``stderr`` and ``n``.
    """
    x, y = np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if keep.sum() < 3:
        return dict(slope=np.nan, intercept=np.nan, r=np.nan, p=np.nan, stderr=np.nan, n=0)
    res = scipy.stats.linregress(np.log10(x[keep]), np.log10(y[keep]))
    return dict(
        slope=float(res.slope),
        intercept=float(res.intercept),
        r=float(res.rvalue),
        p=float(res.pvalue),
        stderr=float(res.stderr),
        n=int(keep.sum()),
    )
