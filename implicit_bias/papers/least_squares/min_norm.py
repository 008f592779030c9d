r"""Least squares with n < d: GD, SGD and a two-layer linear network against their exact limits.

The presets ``+experiment=min_norm`` (linear, GD), ``min_norm_sgd`` (linear, minibatch SGD) and
``min_norm_deep`` (``f(x) = W2 W1 x``, GD) on noise-free planted data (n = 20, d = 50,
float64). Each run is compared with the limit predicted from its own data and initialization
(``reference=min_norm``):

(a) the distance to the predicted limit along training: ``w0 + X^+(y - X w0)`` for the
    linear model (GD from 0 and from a Gaussian w0; SGD with batch sizes 1 and 5), and
    ``X^+ y + P_null W1(0)^T W2(t)^T`` for the two-layer network;
(b) the null-space component ``||P_null (w(t) - w0)||``: untouched (rounding) for the linear
    model; for the two-layer network it is ``||P_null W1(0)^T (W2(t) - W2(0))^T||``, zero iff
    the rows of W1(0) lie in the row space of X (``init=zero_first``);
(c) the final distance to the minimum-norm interpolator ``X^+ y`` of every run.

    python -m implicit_bias.papers.least_squares figures min_norm   # -> docs/figures/min_norm.png
"""

import logging
import time
from pathlib import Path

import jax
import numpy as np

from implicit_bias.papers._cli import DOCS_FIGURES, figure_parser

logger = logging.getLogger(__name__)

OUT = DOCS_FIGURES / "min_norm.png"

#: (label, preset, overrides, traced scalars): one compilation each.
RUNS = (
    ("GD, w0 = 0", "min_norm", (), {"init_scale": 0.0}),
    ("GD, w0 ~ N(0, 0.25 I)", "min_norm", (), {"init_scale": 0.5}),
    ("SGD batch 1, w0 ~ N(0, 0.25 I)", "min_norm_sgd", ("integrator.batch_size=1",), {}),
    ("SGD batch 5, w0 ~ N(0, 0.25 I)", "min_norm_sgd", (), {}),
    ("W2 W1, W1(0) = 0 (zero_first)", "min_norm_deep", (), {}),
    ("W2 W1, Gaussian W1(0)", "min_norm_deep", ("init=gaussian",), {}),
)


def compose(preset: str, overrides: tuple[str, ...] = ()):
    """The config of ``+experiment=<preset>`` with overrides (as the CLI composes it)."""
    from implicit_bias.app.compose import compose

    return compose([f"+experiment={preset}", *overrides])


def run_preset(preset: str, overrides: tuple[str, ...], scalars: dict):
    """One run of a preset with the reference step; returns (exp, run, reference dict)."""
    from implicit_bias.app.build import build_experiment, build_reference, build_scalars
    from implicit_bias.engine import run_batch

    cfg = compose(preset, (*overrides, "record.params=true", "record.num=80", "record.spacing=log"))
    for k, v in scalars.items():
        cfg[k] = v
    exp = build_experiment(cfg)
    tic = time.perf_counter()
    run = run_batch(exp, build_scalars(cfg))[0]
    logger.info("%s %s: %.1fs", preset, " ".join(overrides), time.perf_counter() - tic)
    return exp, run, build_reference(cfg)(exp, run)


def main(out: Path = OUT) -> list[dict]:
    """Make the figure; returns the reference-step dict of every run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from implicit_bias.theory.checks.min_norm import null_projection, row_space_basis

    jax.config.update("jax_enable_x64", True)
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15.5, 4.4))
    refs, labels = [], []
    floor = 1e-16
    for i, (label, preset, overrides, scalars) in enumerate(RUNS):
        _, run, ref = run_preset(preset, overrides, scalars)
        X, y = np.asarray(run.data.X), np.asarray(run.data.y)
        V = row_space_basis(X)
        steps = np.asarray(run.times)
        path = np.asarray(run.records["predictor"])
        w0 = path[0]
        pinv_y = np.linalg.pinv(X) @ y
        if "param_W2" in run.records:  # P_null w(t) = P_null W1(0)^T W2(t)^T
            W1_0 = np.asarray(run.initial_params["W1"])
            carried = null_projection(V, W1_0.T @ np.asarray(run.records["param_W2"])[:, 0].T).T
            target = pinv_y + carried
        else:
            target = np.broadcast_to(w0 + np.linalg.pinv(X) @ (y - X @ w0), path.shape)
        dist = np.linalg.norm(path - target, axis=1)
        drift = np.linalg.norm(null_projection(V, (path - w0).T), axis=0)
        style = dict(color=f"C{i}", label=label)
        ax1.semilogy(steps, np.maximum(dist, floor), **style)
        ax2.semilogy(steps, np.maximum(drift, floor), **style)
        refs.append(ref)
        labels.append(label)
        logger.info(
            "%-32s distance to predicted limit %.2e | to X^+y %.2e | null drift %.2e",
            label,
            ref["distance"],
            ref["distance_to_min_norm"],
            ref["null_space_drift"],
        )
    ax1.set_xscale("symlog", linthresh=1)
    ax1.set_xlabel("step")
    ax1.set_ylabel(r"$\|w(t) - w_{pred}\|$")
    ax1.set_title("(a) distance to the predicted limit")
    ax1.legend(fontsize=7)
    ax2.set_xscale("symlog", linthresh=1)
    ax2.set_xlabel("step")
    ax2.set_ylabel(r"$\|P_{null}(w(t) - w_0)\|$")
    ax2.set_title("(b) null-space component (floor 1e-16)")
    ax3.barh(
        range(len(refs)),
        [max(r["distance_to_min_norm"], floor) for r in refs],
        color=[f"C{i}" for i in range(len(refs))],
    )
    ax3.set_xscale("log")
    ax3.set_yticks(range(len(refs)), labels, fontsize=7)
    ax3.invert_yaxis()
    ax3.set_xlabel(r"$\|w(T) - X^+ y\|$")
    ax3.set_title(r"(c) final distance to $X^+y$")
    fig.suptitle(
        "Least squares, n = 20 < d = 50 (noise-free planted data, float64): the null-space part "
        "of the start is kept; W2 W1 reaches X^+ y iff W1(0) has its rows in the row space of X",
        fontsize=9,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    logger.info("wrote %s", out)
    return refs


def cli(argv: list[str] | None = None) -> None:
    """The figure's command line (``--out`` and its own options)."""
    parser = figure_parser(__doc__, OUT)
    main(parser.parse_args(argv).out)


if __name__ == "__main__":
    cli()
