"""Marion & Chizat (2024) reproduction: bound formulas, Lemma 2 diagnostics, a tiny Fig. 1 grid.

The grids run in float32 (as the figures do); the bounds and diagnostics are float64 numpy.
"""

import jax
import numpy as np
import pytest

from implicit_bias.papers.marion_chizat import experiments as m
from implicit_bias.papers.marion_chizat.claims import (
    critical_lr_claims,
    lower_bound_claim,
    to_markdown,
)
from implicit_bias.theory import deep_linear_sharpness_bounds

jax.config.update("jax_enable_x64", True)


def test_bounds_equal_reference():
    """Vectorized bounds vs theory.deep_linear_sharpness_bounds, run by run (float64 both;
    rtol 1e-12: the same formulas, only the summation order of Sigma differs)."""
    rng = np.random.default_rng(0)
    for n, d, L in ((50, 5, 10), (15, 20, 5), (30, 5, 1)):
        X = rng.standard_normal((3, n, d))
        w = rng.standard_normal((3, d))
        got = m.bounds(X, w, L)
        for i in range(3):
            ref = deep_linear_sharpness_bounds(X[i].T @ X[i] / n, w[i], L)
            for k in ("a", "Lambda", "lower", "small_init_upper", "critical_lr"):
                np.testing.assert_allclose(got[k][i], getattr(ref, k), rtol=1e-12, err_msg=k)


def test_layer_alignment_exact():
    """A balanced rank-one chain W_k = s u_k u_{k-1}^T has defect 0 and alignment 1 (to
    rounding, 1e-12); adding noise of relative size eps gives a defect ~ eps^2 > 0."""
    rng = np.random.default_rng(1)
    d, mw, L = 5, 5, 4
    us = [rng.standard_normal(d)] + [rng.standard_normal(mw) for _ in range(L - 1)] + [np.ones(1)]
    us = [u / np.linalg.norm(u) for u in us]
    params = {f"W{k}": (0.9 * np.outer(us[k], us[k - 1]))[None] for k in range(1, L + 1)}
    out = m.layer_alignment(params, L)
    assert out["rank_one_defect"][0] < 1e-12
    assert abs(out["alignment"][0] - 1) < 1e-12
    noisy = {k: v + 1e-2 * rng.standard_normal(v.shape) for k, v in params.items()}
    out = m.layer_alignment(noisy, L)
    assert 1e-7 < out["rank_one_defect"][0] < 1e-2


def test_min_train_loss():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((2, 20, 3)), rng.standard_normal((2, 20))
    got = m.min_train_loss(X, y)
    for i in range(2):
        w = np.linalg.solve(X[i].T @ X[i], X[i].T @ y[i])
        np.testing.assert_allclose(got[i], np.mean((X[i] @ w - y[i]) ** 2), rtol=1e-12)


def test_tiny_fig1_lower_bound_and_one_compilation():
    """A tiny Fig. 1 grid (2 scales x 2 lrs x 2 reps, 1500 steps): one compilation; the
    bounds stored per run equal theory.deep_linear_sharpness_bounds of the run's own data;
    every run at a minimizer satisfies Theorem 1 (min ratio >= 1 - 1e-3, Lanczos in float32) and
    sharpness <= 2/lr."""
    grid = m.Grid((0.3, 0.4), ((0.02, 1500, 2), (0.07, 1500, 2)))
    st: dict = {}
    ds = m.fig1(grid, stats=st)
    assert st["compilations"] == 1 and st["runs"] == 8
    ok = m.converged_to_minimizer(ds)
    assert int(ok.sum()) >= 4, ds.status.values
    claim = lower_bound_claim(ds)
    assert claim.passed, claim
    ratio = float((ds.final_sharpness / ds.lower).where(ok).min())
    assert ratio >= 1 - 1e-3
    assert float((ds.final_sharpness * ds.lr / 2).where(ok).max()) <= 1.01
    # Bounds of a run from its own data: redraw the data of seed 1 as the engine does
    # (engine._setup: key(seed), fold_in 0), eagerly. The float32 draw and w* = X^+ y come from
    # a different program (eager vs the compiled batch): rtol 1e-5 (~100 float32 ulps).
    data = m.experiment().data.sample(jax.random.fold_in(jax.random.key(1), 0), "float32")
    X, w = np.asarray(data.X, np.float64), np.asarray(data.w_star, np.float64)
    ref = deep_linear_sharpness_bounds(X.T @ X / X.shape[0], w, 10)
    for k in ("lower", "small_init_upper", "critical_lr"):
        np.testing.assert_allclose(
            ds[k].sel(init_scale=0.3, lr=0.02, rep=1), getattr(ref, k), rtol=1e-5
        )
    assert to_markdown([claim]).splitlines()[-1].endswith("| pass |")


def test_critical_lr_measure():
    """critical_lr: the first lr at which more than half of the runs fail, per depth, and the
    claim compares it with the mean predicted 1 / (L a c)."""
    import xarray as xr

    lrs = np.array([0.1, 0.2, 0.3])
    status = np.zeros((2, 1, 3, 4), np.int8)
    status[0, 0, 1:, :3] = 1  # depth 5: 3/4 fail from lr 0.2
    status[1, 0, 2, :2] = 1  # depth 10: 2/4 at lr 0.3 (not more than half): none
    crit = np.full(status.shape, 0.21)
    ds = xr.Dataset(
        {
            "status": (("depth", "init_scale", "lr", "rep"), status),
            "critical_lr": (("depth", "init_scale", "lr", "rep"), crit),
        },
        coords={"depth": [5, 10], "init_scale": [0.25], "lr": lrs, "rep": np.arange(4)},
    )
    got = m.critical_lr(ds)
    assert got.sel(depth=5) == pytest.approx(0.2) and np.isnan(got.sel(depth=10))
    claims = critical_lr_claims(ds)
    assert claims[0].passed and not claims[1].passed


def test_fig7_quick_draws_and_replots(tmp_path, monkeypatch):
    # The GELU MLP figure end to end on a small grid: the network has no w*, so the plot must
    # fall back to the training loss (a full-size run once crashed at this point, after the
    # 4-minute grid). Full-size data is saved before drawing and --replot redraws from it.
    from implicit_bias.papers.marion_chizat import figures as figs

    monkeypatch.setattr(figs, "DATA", tmp_path)
    monkeypatch.setattr(figs, "OUT", tmp_path / "docs")
    grid = m.Grid((0.45, 0.6), ((0.07, 300, 2),))
    monkeypatch.setattr(m, "FIG7_GRID", grid)
    st = figs.make("7", workers=1)
    assert st["runs"] == 4 and st["compilations"] == 1
    assert (tmp_path / "fig7.nc").is_file()
    png = tmp_path / "docs" / "marion_fig7.png"
    assert png.stat().st_size > 10_000
    png.unlink()
    figs.make("7", replot=True)
    assert png.stat().st_size > 10_000
