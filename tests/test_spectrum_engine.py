"""The Hessian spectrum along training (issue 15, item 6): ``Experiment.spectrum`` recorded by the
engine at the measurement points, checked against the dense float64 Hessian; one program per
structure for a batched sweep; the config group, the run directory and ``sweep.nc``."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import implicit_bias as ib
from implicit_bias.compilations import count_compilations
from implicit_bias.engine import _fresh
from implicit_bias.errors import ConfigError
from implicit_bias.sharpness import SPECTRUM_AXES, SpectrumSpec

jax.config.update("jax_enable_x64", True)

ROOT = Path(__file__).resolve().parents[1]
# A 2-layer deep linear network 3-3-1: p = 12 trainable parameters, so the block Lanczos basis
# (40 by default) spans R^p in one cycle and Hutch++ with 36 products sketches all of it (its
# trace is then exact), which makes every recorded number comparable with the dense Hessian.
MODEL = ib.DeepLinear(input_dim=3, width=3, depth=2)
P = 12


def _experiment(spectrum: SpectrumSpec, **kw) -> ib.Experiment:
    return ib.Experiment(
        model=MODEL,
        data=ib.GaussianRegression(n=10, d=3),
        init=ib.Gaussian(),
        integrator=ib.GD(),
        sharpness=ib.SharpnessSpec(method="none"),
        spectrum=spectrum,
        dtype="float64",
        **kw,
    )


def _hessian_eigvalsh(exp: ib.Experiment, params: dict, data) -> np.ndarray:
    """Ascending eigenvalues of the dense float64 Hessian of the training loss at ``params``."""
    flat, unravel = ravel_pytree(params)
    loss = lambda v: exp.loss(exp.model, unravel(v), data)  # noqa: E731
    return np.linalg.eigvalsh(np.asarray(jax.hessian(loss)(flat)))


def _run(res: ib.Result, i: int):
    return jax.tree.map(lambda x: x[i], res.data)


def test_recorded_spectrum_is_the_dense_hessians_and_lr_does_not_recompile():
    spec = SpectrumSpec(
        k_top=3,
        k_bottom=2,
        threshold_c=1.5,
        trace_probes=3 * P,
        trace_method="hutch++",
        density_probes=2,
        density_iters=P,
    )
    exp = _experiment(spec, record=ib.Schedule(num=4, params=True))
    scalars = dict(seed=[0, 1], init_scale=0.6, steps=12)
    with count_compilations("_simulate") as first:
        res = ib.run_batch(exp, progress=False, lr=[0.02, 0.3], **scalars)
    with count_compilations("_simulate") as again:
        ib.run_batch(exp, progress=False, lr=[0.05, 0.1], **scalars)
    # One program for the batch of two learning rates; another lr is the same program.
    assert first.count == 1, first.names
    assert again.count == 0, again.names

    assert res.records["spectrum_top"].shape == (2, 5, 3)
    assert res.records["spectrum_bottom_error_bound"].shape == (2, 5, 2)
    assert res.records["density_nodes"].shape == (2, 5, 2, P)
    lrs = np.asarray(res.scalars.lr)
    checked = 0
    for i in range(2):
        data = _run(res, i)
        points = [(res.initial, jax.tree.map(lambda x, i=i: x[i], res.initial_params), None)]
        for j in range(5):
            params = {k[len("param_") :]: v[i, j] for k, v in res.records.items() if "param_" in k}
            points.append((res.records, params, j))
        points.append((res.final, jax.tree.map(lambda x, i=i: x[i], res.params), None))
        for values, params, j in points:
            at = (i,) if j is None else (i, j)
            exact = _hessian_eigvalsh(exp, params, data)
            scale = np.max(np.abs(exact))
            top = np.asarray(values["spectrum_top"][at])
            top_bound = np.asarray(values["spectrum_top_error_bound"][at])
            bottom = np.asarray(values["spectrum_bottom"][at])
            bottom_bound = np.asarray(values["spectrum_bottom_error_bound"][at])
            np.testing.assert_allclose(top, exact[::-1][:3], rtol=1e-6)
            np.testing.assert_allclose(bottom, exact[:2], rtol=0, atol=1e-6 * scale)
            # The certified bounds contain the true errors.
            assert np.all(np.abs(top - exact[::-1][:3]) <= top_bound + 1e-12 * scale)
            assert np.all(np.abs(bottom - exact[:2]) <= bottom_bound + 1e-12 * scale)
            # Hutch++ with a sketch spanning R^p: the exact trace and tr(H^2).
            np.testing.assert_allclose(values["trace"][at], exact.sum(), rtol=1e-8, atol=1e-10)
            np.testing.assert_allclose(values["trace_sq"][at], np.sum(exact**2), rtol=1e-8)
            above = min(3, int(np.sum(exact > 1.5 / lrs[i])))
            assert values["spectrum_above_count"][at] == above
            # SLQ with m = p steps: exact Gauss quadrature, weights summing to one per probe.
            np.testing.assert_allclose(values["density_weights"][at].sum(-1), 1.0, rtol=1e-10)
            nodes = np.asarray(values["density_nodes"][at])
            assert nodes.min() >= exact[0] - 1e-8 * scale
            assert nodes.max() <= exact[-1] + 1e-8 * scale
            checked += 1
    assert checked == 14
    # The threshold counted something and not everything: both branches are exercised.
    counts = np.asarray(res.records["spectrum_above_count"])
    assert counts[1].max() >= 1 and counts[0].max() == 0


def test_gauss_newton_at_the_ends_only():
    """``operator: gauss_newton``: the top eigenvalues of (2/n) J^T J (square loss), measured at
    the start and the end only when ``track`` is false (the records then hold none)."""
    spec = SpectrumSpec(operator="gauss_newton", k_top=2, track=False)
    exp = _experiment(spec, record=ib.Schedule(num=3))
    res = ib.run_batch(exp, progress=False, lr=0.05, seed=[3], init_scale=0.6, steps=10)
    assert "spectrum_top" not in res.records
    data = _run(res, 0)
    for values, params in ((res.initial, res.initial_params), (res.final, res.params)):
        flat, unravel = ravel_pytree(jax.tree.map(lambda x: x[0], params))
        jac = jax.jacfwd(lambda v, u=unravel: exp.model.apply(u(v), data.X))(flat)
        ggn = 2.0 / data.X.shape[0] * np.asarray(jac.T @ jac)
        exact = np.linalg.eigvalsh(ggn)[::-1][:2]
        np.testing.assert_allclose(values["spectrum_top"][0], exact, rtol=1e-6)


def test_spectrum_off_by_default_leaves_the_carry_as_it_was():
    exp = _experiment(SpectrumSpec())
    assert not exp.spectrum.enabled and ib.Experiment.spectrum == SpectrumSpec()
    scalars = ib.Scalars.make(dtype="float64", lr=[0.1, 0.2])
    carry = jax.eval_shape(lambda sc: _fresh(exp, sc, 5), scalars)
    assert carry.runs.spectrum_vec is None
    assert not set(carry.runs.metrics) & set(SPECTRUM_AXES)
    on = _experiment(SpectrumSpec(k_top=2, density_probes=2, density_iters=50))
    carry = jax.eval_shape(lambda sc: _fresh(on, sc, 5), scalars)
    assert carry.runs.spectrum_vec.shape == (2, 2, P)
    assert carry.runs.metrics["spectrum_top"].shape == (2, 5, 2)
    assert carry.runs.metrics["density_nodes"].shape == (2, 5, 2, P)  # iters capped at p


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (dict(k_top=-1), "spectrum.k_top=-1 is invalid"),
        (dict(operator="fisher"), "spectrum.operator='fisher' is invalid"),
        (dict(threshold_c=1.5), "spectrum.threshold_c=1.5 is invalid: null unless"),
        (dict(trace_probes=4, trace_method="hutch++"), "spectrum.trace_probes=4 is invalid"),
        (dict(density_probes=1), "spectrum.density_probes=1 is invalid"),
    ],
)
def test_bad_spectrum_values_name_the_key(spec, message):
    with pytest.raises(ConfigError, match=message):
        SpectrumSpec(**spec)


def test_spectrum_larger_than_the_model_or_threshold_for_flow_is_refused():
    with pytest.raises(
        ConfigError, match=r"spectrum\.k_top=10 is invalid: with spectrum\.k_bottom"
    ):
        _experiment(SpectrumSpec(k_top=10, k_bottom=3))
    with pytest.raises(ConfigError, match=r"spectrum\.threshold_c=1\.5 is invalid: null for"):
        ib.Experiment(
            model=MODEL,
            data=ib.GaussianRegression(n=10, d=3),
            init=ib.Gaussian(),
            integrator=ib.GradientFlow(),
            spectrum=SpectrumSpec(k_top=2, threshold_c=1.5),
        )


def test_cli_sweep_writes_the_spectrum_to_every_output(tmp_path):
    """``python -m implicit_bias.run -m``: metrics.json (initial and final values, arrays as
    lists), trajectory.npz (``(r, k)`` records), the density plot and sweep.nc (a ``top`` axis
    after the swept ones)."""
    sweep = tmp_path / "sweep"
    args = [
        "-m",
        "model=deep_linear",
        "model.depth=2",
        "model.width=3",
        "data.n=10",
        "data.d=3",
        "lr=0.02,0.05",
        "steps=20",
        "record.num=4",
        "sharpness=none",
        "spectrum=full",
        "spectrum.k_top=2",
        "spectrum.trace_probes=6",
        "spectrum.density_probes=2",
        "spectrum.density_iters=6",
        "progress=false",
        f"hydra.sweep.dir={sweep}",
    ]
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "HYDRA_FULL_ERROR": "0"}
    p = subprocess.run(
        [sys.executable, "-m", "implicit_bias.run", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    runs = sorted(d for d in sweep.iterdir() if (d / "metrics.json").is_file())
    assert len(runs) == 2
    for run in runs:
        m = json.loads((run / "metrics.json").read_text())
        for when in ("initial", "final"):
            assert len(m[when]["spectrum_top"]) == 2
            assert len(m[when]["spectrum_bottom"]) == 1
            assert np.shape(m[when]["density_nodes"]) == (2, 6)
            assert isinstance(m[when]["trace"], float)
            assert m[when]["spectrum_top"][0] >= m[when]["spectrum_top"][1]
        traj = np.load(run / "trajectory.npz")
        assert traj["spectrum_top"].shape == (5, 2)
        assert traj["density_weights"].shape == (5, 2, 6)
        assert traj["trace_std_error"].shape == (5,)
        assert (run / "plots" / "spectral_density.png").is_file()
    import xarray as xr

    ds = xr.load_dataset(sweep / "sweep.nc")
    assert ds.final_spectrum_top.dims == ("lr", "top")
    assert ds.spectrum_top.dims == ("lr", "record", "top")
    assert ds.final_density_nodes.dims == ("lr", "probe", "node")
    assert ds.trace.dims == ("lr", "record")
    assert ds.final_trace.dims == ("lr",)
    for run in runs:
        m = json.loads((run / "metrics.json").read_text())
        lr = m["scalars"]["lr"]
        np.testing.assert_allclose(
            ds.final_spectrum_top.sel(lr=lr).values, m["final"]["spectrum_top"]
        )
        np.testing.assert_allclose(
            ds.spectrum_top.sel(lr=lr).values, np.load(run / "trajectory.npz")["spectrum_top"]
        )
    assert np.isfinite(ds.final_spectrum_top.values).all()
    assert ds.sizes["record"] == 5


def test_collect_pads_spectra_of_different_sizes_and_masks_diverged_runs(tmp_path):
    """Two points with different ``spectrum.k_top`` (two groups of one sweep) share the ``top``
    axis, the shorter padded with NaN; ``null`` entries (not finite) are NaN; a diverged run's
    final spectrum is masked like its other final values."""
    from omegaconf import OmegaConf

    from implicit_bias.app.collect import collect

    runs = [("converged", [3.0, 2.0, None]), ("diverged", [5.0, 4.0])]
    for i, (status, top) in enumerate(runs):
        run = tmp_path / str(i)
        (run / ".hydra").mkdir(parents=True)
        overrides = [f"spectrum.k_top={len(top)}"]
        (run / ".hydra" / "overrides.yaml").write_text(OmegaConf.to_yaml(overrides))
        metrics = {
            "status": status,
            "steps_reached": 10,
            "final": {"train_loss": 1.0, "spectrum_top": top, "trace": 7.0},
            "initial": {"train_loss": 2.0, "spectrum_top": top},
            "scalars": {"seed": 0},
        }
        (run / "metrics.json").write_text(json.dumps(metrics))
        records = np.arange(4 * len(top), dtype=float).reshape(4, len(top))
        np.savez(run / "trajectory.npz", step=np.arange(4), spectrum_top=records)
    ds = collect(tmp_path, write=False)
    assert ds.initial_spectrum_top.dims == ("spectrum.k_top", "top")
    initial = ds.initial_spectrum_top
    np.testing.assert_array_equal(initial.sel({"spectrum.k_top": 3}), [3, 2, np.nan])
    np.testing.assert_array_equal(initial.sel({"spectrum.k_top": 2}), [5, 4, np.nan])
    assert np.isnan(ds.final_spectrum_top.sel({"spectrum.k_top": 2})).all()  # diverged
    assert ds.spectrum_top.dims == ("spectrum.k_top", "record", "top")
    np.testing.assert_array_equal(ds.spectrum_top.sel({"spectrum.k_top": 2})[:, 2], np.nan)
    assert ds.final_trace.dims == ("spectrum.k_top",)
