r"""Gradient flows (float64) of Sections 4 and 5: small and residual initialization.

* :func:`small_init_flows`: Corollary 2, Lemma 2 and assumptions (A1)/(A2) on the Fig 1
  setting (L = 10, width 5, the authors' data), from the Gaussian init (every layer
  ``N(0, s^2)``) and from the paper's example satisfying (A1), ``W_1 = 0`` (``zero_first``,
  line 66), at several small scales.
* :func:`scaling`: the headline "the constant depends on the condition number of the data
  covariance matrix, but not on width or depth" (abstract, line 3; line 16): sweeps over the
  depth (2 to 40), the width (5 to 100) and the condition number (1 to 100), from a small
  (``zero_first``) and from a residual initialization; with the residual results of Section 5
  (Theorem 4, Corollary 3) measured on the same runs.

**Integration** (:func:`~.experiments.flow_integrator`): Tsit5, rtol 1e-10, atol 1e-12, on the
noiseless copy of the data (:meth:`~.components.FixedData.noiseless`: the same trajectory,
minimum loss 0) so that every flow stops at an absolute training loss of 1e-12 (a diffrax
event); the final time ``t1 = 1e14`` is only a cap. From a small initialization the flow
first crawls along the saddle at 0 for a time that grows like ``s^{-(L-2)}`` (measured at
L = 10, width 5, Gaussian init, medians: 1.7e4 from s = 0.1, 4.3e6 from 0.05, 6.6e9 from
0.02, 1.7e12 from 0.01);
an adaptive explicit
solver crosses such a plateau in a number of steps that grows like its logarithm, so a large
cap costs little, while the stiff phase near the minimizer (step ~ 3 / sharpness) ends at the
event instead of running on to ``t1``. A run that has not left the saddle by ``t1`` is
reported as at a saddle (:mod:`.criteria`), never as converged.
"""

from __future__ import annotations

import logging

import jax
import numpy as np
import xarray as xr

from implicit_bias.data import GaussianRegression
from implicit_bias.experiment import Experiment, SharpnessSpec
from implicit_bias.inits import Gaussian, Residual, ZeroFirst
from implicit_bias.models import DeepLinear, ResidualLinear
from implicit_bias.papers.marion_chizat import experiments as ex
from implicit_bias.papers.marion_chizat.assumptions import a1, a2
from implicit_bias.papers.marion_chizat.bounds import (
    bounds,
    gauss_newton_bound,
    layer_norm_bound,
)
from implicit_bias.papers.marion_chizat.components import FixedData
from implicit_bias.papers.marion_chizat.grid import Grid, run_grid
from implicit_bias.papers.marion_chizat.lemma2 import epsilon, lemma2_checks
from implicit_bias.result import Result
from implicit_bias.schedule import Schedule
from implicit_bias.theory import balanced_rank_one_sharpness

logger = logging.getLogger(__name__)

__all__ = [
    "DEPTHS",
    "KAPPAS",
    "RESIDUAL_SCALES",
    "SMALL_SCALES",
    "WIDTHS",
    "scaling",
    "small_init_flows",
]

#: Init scales of :func:`small_init_flows`. Lemma 2's epsilon grows like ``s^2`` (measured
#: ``L epsilon ~ 5`` at s = 0.05, L = 10, width 5), so the (A2) proxy ``L epsilon <=
#: ||w*||^{2/L}`` needs s <~ 0.02; 0.25 is the smallest scale of Fig 1, outside the small-init
#: regime (the learned layers are not rank one yet).
SMALL_SCALES = (0.01, 0.02, 0.05, 0.1, 0.25)
DEPTHS = (2, 5, 10, 20, 40)
WIDTHS = (5, 10, 20, 50, 100)
KAPPAS = (1.0, 3.0, 10.0, 30.0, 100.0)
#: Residual init scales ``s`` (Fig 4 spans 0 to 1.7).
RESIDUAL_SCALES = (0.25, 1.0)


def small_scale(depth: int, width: int) -> float:
    r"""The small init scale of the scaling sweeps (``zero_first``): ``s = sigma_L /
    sqrt(width)`` with ``sigma_L`` the per-layer spectral scale ``s sqrt(m)`` (the typical
    ``||W_k||_2 / 2``) that still leaves the saddle at 0 within the cap: the plateau lasts
    ~``sigma^{-(L-2)}``, so ``sigma`` must grow with the depth (``sigma_L = 0.022, 0.045,
    0.11, 0.34, 0.67`` at L = 2, 5, 10, 20, 40, measured to escape by t ~ 1e1 to 1e8; from
    ``sigma = 0.45`` at L = 40 the flow had not left the saddle at t = 1e9). The
    consequence is that Lemma 2's ``epsilon`` is not small at large depth (``L epsilon``
    grows): the regime of (A2) is out of reach of any flow at L = 40, which we report."""
    sigma = {2: 0.022, 5: 0.045, 10: 0.11, 20: 0.34, 40: 0.67}[depth]
    return round(sigma / np.sqrt(width), 4)


def _layers(params: dict, depth: int, b: int) -> list[np.ndarray]:
    return [np.asarray(params[f"W{k}"], np.float64)[:b] for k in range(1, depth + 1)]


def _diagnostics(depth: int, trajectory: bool):
    """The ``extra`` callback of :func:`~.grid.run_grid` for flows: Theorem 2 and Gauss-Newton
    bounds at the final layers, Lemma 2's epsilon (and its checks along the recorded
    trajectory when ``trajectory``), the residual increments ``theta_k``."""

    def extra(res: Result, b: int) -> dict[str, np.ndarray]:
        final = _layers(res.params, depth, b)
        init = _layers(res.initial_params, depth, b)
        X = np.asarray(res.data.X, np.float64)[:b]
        w = np.asarray(res.data.w_star, np.float64)[:b]
        bd = bounds(X, w, depth)
        p = np.asarray(res.params["p"], np.float64)[:b] if "p" in res.params else None
        p_norm = 1.0 if p is None else np.linalg.norm(p, axis=-1)
        out = {
            "layer_norm_bound": layer_norm_bound(final, bd["a"], bd["norm_w"]),
            "gauss_newton_bound": gauss_newton_bound(final, bd["Lambda"], p_norm),
            "balanced": np.array(
                [
                    balanced_rank_one_sharpness(Xi.T @ Xi / len(Xi), wi, depth)
                    for Xi, wi in zip(X, w, strict=True)
                ]
            ),
        }
        # (A1)'s R(W(0)) - R_0 = w0^T Sigma w0 - 2 w0^T X^T y / n, from the initial end-to-end
        # vector itself: subtracting two losses ~1 would lose it to rounding when w0 ~ s^L.
        v = np.ones((b, 1)) if p is None else np.asarray(res.initial_params["p"], np.float64)[:b]
        for W in reversed(init):
            v = np.einsum("bi,bij->bj", v, W)
        y = np.asarray(res.data.y, np.float64)[:b]
        n = X.shape[1]
        Sigma_w = np.einsum("bni,bnj,bj->bi", X, X, v) / n
        out["a1_excess"] = (
            np.einsum("bi,bi->b", v, Sigma_w) - 2 * np.einsum("bi,bni,bn->b", v, X, y) / n
        )
        d = X.shape[-1]
        eye = np.eye(d)
        if p is not None:  # residual: theta_k = L (W_k(T) - W_k(0)), Theorem 4's (8)
            theta = [depth * (Wf - Wi) for Wf, Wi in zip(final, init, strict=True)]
            out["theta_max"] = np.max(
                np.stack([np.linalg.norm(t, axis=(-2, -1)) for t in theta], -1), -1
            )
            out["init_dev"] = np.max(
                np.stack([np.linalg.norm(Wi - eye, 2, axis=(-2, -1)) for Wi in init], -1), -1
            )
        else:
            out["epsilon"] = epsilon(init)
        if trajectory:
            traj = [
                np.asarray(res.records[f"param_W{k}"], np.float64)[:b] for k in range(1, depth + 1)
            ]
            out.update(lemma2_checks(traj, init))
        return out

    return extra


def _flow_experiment(model, init, data, record: Schedule) -> Experiment:
    return Experiment(
        model=model,
        data=data,
        init=init,
        integrator=ex.flow_integrator(),
        sharpness=SharpnessSpec(method="lanczos", track=False),
        record=record,
        dtype="float64",
    )


def _finish(ds: xr.Dataset, depth: int, d: int) -> xr.Dataset:
    """Assumptions (A1)/(A2) per run, from the stored variables."""
    ds["a1"] = (ds.status.dims, a1(ds.a1_excess, ds.initial_grad_norm))
    if "epsilon" in ds:
        ds["a2"] = (ds.status.dims, a2(ds["rank"], d, ds.epsilon, depth, ds.norm_w))
    return ds


def small_init_flows(
    scales=SMALL_SCALES,
    reps: int = 10,
    inits=("gaussian", "zero_first"),
    depth: int = 10,
    width: int = 5,
    data: ex.DataChoice = "authors",
    t1: float = ex.FLOW_T1,
    stats: dict | None = None,
) -> xr.Dataset:
    """Gradient flows from small inits on the Fig 1 setting, parameters recorded at 100
    log-spaced times (from ``1e-15 t1``) for Lemma 2; dims ``(init, init_scale, rep)``."""
    base, seed = ex.data_set("1", data)
    dset = base.noiseless() if isinstance(base, FixedData) else GaussianRegression(sigma=0.0)
    record = Schedule(num=100, spacing="log", log_min=1e-15, params=True)
    parts, total = [], {}
    for name in inits:
        init = {"gaussian": Gaussian(), "zero_first": ZeroFirst()}[name]
        exp = _flow_experiment(
            DeepLinear(input_dim=dset.input_dim, width=width, depth=depth), init, dset, record
        )
        st: dict = {}
        grid = Grid.make(scales, [(1.0, 0, reps)])
        part = run_grid(
            exp,
            grid,
            depth=depth,
            data_seed=seed,
            t1=t1,
            batch_size=len(scales) * reps,
            extra=_diagnostics(depth, trajectory=True),
            stats=st,
        ).isel(lr=0, drop=True)
        parts.append(_finish(part, depth, dset.input_dim))
        for k, v in st.items():
            total[k] = total.get(k, 0) + v
    if stats is not None:
        stats.update(total)
    return xr.concat(parts, dim=xr.DataArray(list(inits), dims="init", name="init"))


def _run_points(exp, scales, reps, depth, data_seed, t1, st) -> xr.Dataset:
    grid = Grid.make(scales, [(1.0, 0, reps)])
    return run_grid(
        exp,
        grid,
        depth=depth,
        data_seed=data_seed,
        t1=t1,
        batch_size=len(scales) * reps,
        extra=_diagnostics(depth, trajectory=False),
        stats=st,
    ).isel(lr=0, drop=True)


def scaling(
    axis: str,
    kind: str,
    values=None,
    reps: int = 10,
    t1: float = ex.FLOW_T1,
    stats: dict | None = None,
) -> xr.Dataset:
    """One sweep of the scaling figure.

    Args:
        axis: ``depth`` (width 5, the authors' data), ``width`` (L = 10; for the residual
            network the width is the input dimension d: data of condition number 2.67, the
            authors' data set's) or ``kappa`` (L = 10, width 5, n = 50, d = 5).
        kind: ``small`` (``zero_first`` at :func:`small_scale`) or ``residual``
            (:class:`~implicit_bias.ResidualLinear`, its projection drawn from each run's seed,
            residual init at the scales :data:`RESIDUAL_SCALES`).
        values: the swept values (default :data:`DEPTHS`, :data:`WIDTHS`, :data:`KAPPAS`).
        reps: repetitions (init seeds) per point.

    Returns:
        Dataset with dims ``(axis, init_scale, rep)`` (``init_scale`` has one entry per
        point for ``small``: the scale differs along ``axis`` and is stored as
        ``scale_used``).
    """
    if values is None:
        values = {"depth": DEPTHS, "width": WIDTHS, "kappa": KAPPAS}[axis]
    authors_data = ex.data_set("1", "authors")[0].noiseless()
    X0, w0 = authors_data.arrays["X"][None], authors_data.arrays["w_star"][None]
    kappa_authors = float(bounds(X0, w0, 1)["cond"][0])
    parts, total = [], {}
    for v in values:
        depth = int(v) if axis == "depth" else 10
        width = int(v) if axis == "width" else 5
        if axis == "kappa":
            gen = GaussianRegression(n=50, d=5, sigma=0.0, condition_number=float(v))
            # One label for every kappa: the label is static, a different one would recompile.
            data = _host_sample(gen, label="GaussianRegression(condition_number=kappa)")
        elif axis == "width" and kind == "residual":
            gen = GaussianRegression(
                n=2 * width, d=width, sigma=0.0, condition_number=round(kappa_authors, 2)
            )
            data = _host_sample(
                gen, label=f"GaussianRegression(condition_number={gen.condition_number})"
            )
        else:
            data = authors_data
        if kind == "small":
            model = DeepLinear(input_dim=data.input_dim, width=width, depth=depth)
            init, scales = ZeroFirst(), (small_scale(depth, width),)
        elif kind == "residual":
            model = ResidualLinear(input_dim=data.input_dim, depth=depth)
            init, scales = Residual(), RESIDUAL_SCALES
        else:
            raise ValueError(f"kind must be small or residual, got {kind!r}")
        exp = _flow_experiment(model, init, data, Schedule(num=20, spacing="log", log_min=1e-15))
        st: dict = {}
        part = _run_points(exp, scales, reps, depth, 0, t1, st)
        part = _finish(part, depth, data.input_dim)
        if kind == "small":
            part = part.assign(scale_used=("init_scale", part.init_scale.values)).assign_coords(
                init_scale=[0.0]
            )
        parts.append(part)
        for k, val in st.items():
            total[k] = total.get(k, 0) + val
        logger.info("%s %s=%g: %.1fs", kind, axis, v, st["wall_s"])
    if stats is not None:
        stats.update(total)
    out = xr.concat(parts, dim=xr.DataArray(list(values), dims=axis, name=axis), join="outer")
    out.attrs.update(kind=kind, axis=axis)
    return out


def _host_sample(gen: GaussianRegression, label: str, seed: int = 0) -> FixedData:
    """One data set of ``gen``, drawn once on the host (as the engine would from
    ``data_seed = seed``) and held fixed: every data set of the same shapes then feeds the same
    compiled program."""
    ds = gen.sample(jax.random.fold_in(jax.random.key(seed), 0), "float64")
    arrays = {
        "X": ds.X,
        "y": ds.y,
        "X_test": ds.X_test,
        "y_test": ds.y_test,
        "w_star": ds.w_star,
    }
    arrays = {k: np.asarray(v, np.float64) for k, v in arrays.items()}
    return FixedData(arrays, label=f"{label}, data seed {seed}")
