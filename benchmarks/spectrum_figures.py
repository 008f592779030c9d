"""The Hessian-spectrum figures of docs/spectrum.md, through the public API.

    python benchmarks/spectrum_figures.py            # both figures -> docs/figures/spectrum_*.png

1. ``spectrum_marion.png``: spectral density (stochastic Lanczos quadrature, log scale) of the
   Marion & Chizat (2024) network — deep linear, d = m = 5, L = 10, n = 50 Gaussian samples
   (``GaussianRegression``), Gaussian init, GD, float64 — at initialization and at the minimum
   GD finds, with the certified top-5 eigenvalues marked. At a minimum the Hessian of a
   scalar-output deep linear network has rank <= d: five outliers and a bulk at exactly zero.
2. ``spectrum_eos.png``: the top-5 Hessian eigenvalues along an edge-of-stability GD run of a
   small tanh MLP (Cohen et al., 2021), each point certified, warm-started from the previous
   record point's eigenvectors: the top eigenvalue rises to 2/lr and hovers there.

Parameters are recorded along training with ``ib.Schedule(params=True)``; the estimators run
on them afterwards in one ``lax.scan`` (the engine does not record spectra yet).
"""

import argparse
import pathlib
import time

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import implicit_bias as ib
from implicit_bias.sharpness import Hessian, eigenpairs, plot_density, slq, topk

jax.config.update("jax_enable_x64", True)

OUT = pathlib.Path(__file__).resolve().parents[1] / "docs" / "figures"


def _loss_fn(model, X, y):
    return lambda p: jnp.mean((model.apply(p, X) - y) ** 2)


def marion_density(out: pathlib.Path, steps: int) -> None:
    model = ib.DeepLinear(input_dim=5, width=5, depth=10)
    res = ib.train(
        model=model,
        data=ib.GaussianRegression(n=50, d=5, sigma=1.0),
        init=ib.Gaussian(),
        integrator=ib.GD(),
        loss=ib.Square(),
        sharpness=ib.SharpnessSpec(method="lanczos", num_iters=25, track=False),
        record=ib.Schedule(num=10),
        dtype="float64",
        seed=0,
        data_seed=0,
        init_scale=0.3,
        lr=0.02,
        steps=steps,
        t1=1.0,
    )[0]
    print(
        f"marion: status {res.status_names()}, steps {int(res.reached)}, final loss "
        f"{float(res.final['train_loss']):.6g}, grad norm {float(res.final['grad_norm']):.2e}"
    )
    X, y = res.data.X, res.data.y

    @jax.jit
    def spectrum(params, key):
        op = Hessian(_loss_fn(model, X, y), params)
        k1, k2 = jax.random.split(key)
        top, bottom = eigenpairs(op, k1, top=5, bottom=1)
        return slq(op, k2, num_probes=20, num_iters=60), top, bottom

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    p = 230
    for ax, params, label, color in (
        (axes[0], res.initial_params, "initialization (init scale 0.3)", "C0"),
        (axes[1], res.params, f"minimum found by GD (lr 0.02, {steps} steps)", "C3"),
    ):
        dens, top, bottom = spectrum(params, jax.random.key(1))
        print(
            f"  {label}: top-5 {np.asarray(top.eigenvalues).round(6)} (bounds <= "
            f"{float(top.error_bounds.max()):.1e}), lambda_min {float(bottom.eigenvalues[0]):.3g}"
        )
        nodes, weights = np.asarray(dens.nodes), np.asarray(dens.weights)
        lo = min(float(nodes.min()), float(bottom.eigenvalues[0]))
        hi = max(float(nodes.max()), float(top.eigenvalues[0]))
        span = hi - lo
        sigma = 0.01 * span
        grid = np.linspace(lo - 0.05 * span, hi + 0.05 * span, 3000)
        plot_density(
            dens,
            ax,
            sigma=sigma,
            grid=grid,
            outliers=top.eigenvalues,
            label=label,
            color=color,
            floor=1e-6,
        )
        zero_mass = np.mean(np.sum(np.where(np.abs(nodes) <= 1e-8 * hi, weights, 0.0), axis=1))
        ax.set_title(
            f"{label}\nSLQ mass at 0: {zero_mass:.3f} (rank-5 Hessian: 225/230 = {225 / p:.3f})"
            if "minimum" in label
            else f"{label}\n"
            rf"$\lambda_{{\min}}$ = {float(bottom.eigenvalues[0]):.3g}, "
            rf"$\lambda_{{\max}}$ = {float(top.eigenvalues[0]):.3g}",
            fontsize=9,
        )
    fig.suptitle(
        "Hessian spectral density of the Marion & Chizat deep linear net (d = m = 5, L = 10, "
        "n = 50, Gaussian data and init, GD)\nSLQ with 20 probes x 60 Lanczos steps, "
        "Gaussian smoothing sigma = 1% of the range; triangles: the certified top-5 eigenvalues",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(out / "spectrum_marion.png", dpi=130)
    plt.close(fig)


def eos_top5(out: pathlib.Path, lr: float, steps: int, points: int) -> None:
    model = ib.MLP(input_dim=5, width=20, depth=3, activation="tanh")
    res = ib.train(
        model=model,
        data=ib.GaussianRegression(n=50, d=5, sigma=0.5),
        init=ib.Gaussian(),
        integrator=ib.GD(),
        loss=ib.Square(),
        sharpness=ib.SharpnessSpec(method="lanczos", num_iters=25, track=True),
        record=ib.Schedule(num=points, params=True),
        dtype="float64",
        seed=0,
        data_seed=0,
        init_scale=0.5,
        lr=lr,
        steps=steps,
        t1=1.0,
    )[0]
    print(f"eos: status {res.status_names()}, final loss {float(res.final['train_loss']):.4g}")
    X, y = res.data.X, res.data.y
    names = list(model.param_shapes())
    traj = {k: res.records[f"param_{k}"] for k in names}
    k_top = 5

    @jax.jit
    def along(traj, key):
        p = sum(int(np.prod(s)) for s in model.param_shapes().values())

        def step(v0, params):
            pairs = topk(Hessian(_loss_fn(model, X, y), params), key, k_top, v0=v0)
            return pairs.vectors, pairs

        return jax.lax.scan(step, jnp.zeros((k_top, p)), traj)[1]

    t0 = time.perf_counter()
    pairs = along(traj, jax.random.key(2))
    jax.block_until_ready(pairs)
    evals = np.asarray(pairs.eigenvalues)
    print(
        f"  {evals.shape[0]} record points in {time.perf_counter() - t0:.1f} s (with compile); "
        f"max bound / value {float(np.max(pairs.error_bounds / np.abs(pairs.eigenvalues))):.1e}, "
        f"all converged {bool(np.all(pairs.converged))}, "
        f"mean products {float(np.mean(pairs.num_matvecs)):.0f}"
    )
    steps_axis = np.asarray(res.times)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for i in range(k_top):
        ax.plot(steps_axis, evals[:, i], lw=1.2, label=rf"$\lambda_{i + 1}$")
    ax.axhline(2 / lr, color="k", ls="--", lw=1, label=r"$2/\eta$")
    ax.set_xlabel("GD step")
    ax.set_ylabel("Hessian eigenvalue")
    ax.set_title(
        f"Top-5 Hessian eigenvalues along GD (tanh MLP 5-20-20-1, n = 50, lr = {lr})\n"
        "block Lanczos, warm-started, every point certified",
        fontsize=9,
    )
    ax2 = ax.twinx()
    ax2.semilogy(steps_axis, np.asarray(res.records["train_loss"]), color="0.6", lw=0.8)
    ax2.set_ylabel("train loss (grey)", color="0.4")
    ax.set_ylim(top=2.6 / lr)  # room for the legend above the 2/lr line
    handles, labels = ax.get_legend_handles_labels()
    ax2.legend(handles, labels, fontsize=8, ncol=3, loc="upper right")  # on top of both axes
    fig.tight_layout()
    fig.savefig(out / "spectrum_eos.png", dpi=130)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=pathlib.Path, default=OUT)
    p.add_argument("--marion-steps", type=int, default=20000)
    p.add_argument("--eos-lr", type=float, default=0.12)
    p.add_argument("--eos-steps", type=int, default=3000)
    p.add_argument("--eos-points", type=int, default=150)
    p.add_argument("--only", choices=["marion", "eos"], default=None)
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "marion"):
        marion_density(args.out, args.marion_steps)
    if args.only in (None, "eos"):
        eos_top5(args.out, args.eos_lr, args.eos_steps, args.eos_points)


if __name__ == "__main__":
    main()
