r"""Marion & Chizat (2024): every figure, drawn from full-size grids under the paper's protocol.

    python -m implicit_bias.papers.marion_chizat figures [--fig NAME,...|all] [--quick]
        [--replot] [--workers N] [--docs]

Figures (``outputs/figures/marion_<...>.png``; ``--docs`` writes the committed
``docs/figures/``), each from the data sets of :mod:`.runs`:

=====================  ==================================================================
``1``                  Figs 1 (a, b) and 3 (``marion_fig1.png``), with our gradient-flow
                       curve
``1cd``                Fig 1 (c, d) (``marion_fig1cd.png``)
``2``                  Fig 2 (``marion_fig2.png``)
``4``                  Figs 4 and 5 (``marion_fig4.png``, ``marion_fig5.png``)
``residual_traj``      the authors' residual trajectories (``marion_residual_trajectories.png``)
``6``                  Fig 6 with the gap regression (``marion_fig6.png``)
``7``, ``7noisy``      Fig 7 and its noisy variant (``marion_fig7.png``,
                       ``marion_fig7_noisy.png``)
``robustness``         one data set per repetition, run by run (``marion_robustness.png``)
``critical_lr``        success rate against ``lr / lr_crit`` (``marion_critical_lr.png``)
``small_init``         Corollary 2, Lemma 2, (A1)/(A2) (``marion_small_init.png``)
``theorem2``           rescaled minimizers (``marion_theorem2.png``)
``scaling``            depth, width, condition number (``marion_scaling.png``)
``residual``           Theorem 4, Corollary 3, Lemma 3 (``marion_residual_theory.png``)
=====================  ==================================================================

Every figure's data is saved (``outputs/marion/<run>.nc``) before it is drawn; ``--replot``
draws from the saved files (those whose spec matches) without running anything new. ``--quick``
shrinks every grid (outputs under ``outputs/marion/quick/``; the committed figures are never
overwritten by quick runs).
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np

from implicit_bias.papers._cli import DOCS_FIGURES, OUTPUT_FIGURES
from implicit_bias.papers.marion_chizat import draw_paper as dp
from implicit_bias.papers.marion_chizat import draw_theory as dt
from implicit_bias.papers.marion_chizat import runs

logger = logging.getLogger(__name__)

__all__ = ["FIGURES", "default_workers", "main", "make"]

_SCALING = tuple(
    f"scaling_{axis}_{kind}"
    for axis in ("depth", "width", "kappa")
    for kind in ("small", "residual")
)


def _draw_1(d, out):
    dp.draw_fig1(d["fig1"], out / "marion_fig1.png", flow=d["fig1_flow"])


def _draw_1cd(d, out):
    dp.draw_fig1cd(d["fig1cd"], out / "marion_fig1cd.png")


def _draw_2(d, out):
    dp.draw_fig2(d["fig2"], out / "marion_fig2.png")


def _draw_4(d, out):
    dp.draw_fig4(d["fig4"], out / "marion_fig4.png", out / "marion_fig5.png")


def _draw_restraj(d, out):
    dp.draw_residual_trajectories(
        d["residual_trajectories"], out / "marion_residual_trajectories.png"
    )


def _draw_6(d, out):
    return {"gap_fit": dp.draw_fig6(d["fig6"], out / "marion_fig6.png")}


def _draw_7(d, out):
    dp.draw_fig7(
        d["fig7"],
        out / "marion_fig7.png",
        "Fig 7: GELU MLP (tanh GELU), L = 10, width 5, sigma = 0",
    )


def _draw_7noisy(d, out):
    dp.draw_fig7(
        d["fig7_noisy"],
        out / "marion_fig7_noisy.png",
        "Fig 7, noisy variant (sigma = 1: the Fig 1 data; described, not drawn, line 619)",
    )


def _draw_robust(d, out):
    dt.draw_robustness(d["robustness"], out / "marion_robustness.png")


def _draw_crit(d, out):
    parts = {"Fig 2": d["fig2"], "Fig 1": d["fig1"], "robustness": d["robustness"]}
    dt.draw_critical_lr(parts, out / "marion_critical_lr.png")


def _draw_small(d, out):
    dt.draw_small_init(d["small_init"], out / "marion_small_init.png")


def _draw_t2(d, out):
    dt.draw_theorem2(d["theorem2"], out / "marion_theorem2.png")


def _draw_scaling(d, out):
    return {"constants": dt.draw_scaling(d, out / "marion_scaling.png")}


def _draw_residual(d, out):
    dt.draw_residual_theory(d, d["lemma3"], out / "marion_residual_theory.png")


#: figure name -> (data sets it needs, drawing function).
FIGURES: dict[str, tuple[tuple[str, ...], Callable]] = {
    "1": (("fig1", "fig1_flow"), _draw_1),
    "1cd": (("fig1cd",), _draw_1cd),
    "2": (("fig2",), _draw_2),
    "4": (("fig4",), _draw_4),
    "residual_traj": (("residual_trajectories",), _draw_restraj),
    "6": (("fig6",), _draw_6),
    "7": (("fig7",), _draw_7),
    "7noisy": (("fig7_noisy",), _draw_7noisy),
    "robustness": (("robustness",), _draw_robust),
    "critical_lr": (("fig2", "fig1", "robustness"), _draw_crit),
    "small_init": (("small_init",), _draw_small),
    "theorem2": (("theorem2",), _draw_t2),
    "scaling": (_SCALING, _draw_scaling),
    "residual": (("scaling_depth_residual", "scaling_width_residual", "lemma3"), _draw_residual),
}


def default_workers() -> int:
    """One worker process per core on the CPU backend, else 1 (in-process)."""
    if jax.default_backend() != "cpu" or not hasattr(os, "sched_getaffinity"):
        return 1
    return len(os.sched_getaffinity(0))


def make(
    fig: str,
    quick: bool = False,
    reuse: bool = False,
    cache: dict | None = None,
    workers: int | None = None,
    folder: Path | None = None,
) -> dict:
    """Get the data sets of one figure (run them, or reuse saved ones), draw it, return timings.

    The figure goes to ``folder`` (default: ``outputs/figures/``, or
    ``outputs/marion/quick/figures/`` for ``quick``); ``main --docs`` passes the committed
    ``docs/figures/``.

    Returns:
        ``runs`` (runs computed now), ``wall_s`` / ``compile_s`` / ``compilations`` of those
        runs, ``draw_s``, ``total_s``, ``sources`` (data set -> ``run``/``cache``/file),
        ``per_run`` (data set -> its stats, for those computed now) and whatever the drawing
        returns (the Fig 6 fit, the scaling constants).
    """
    if fig not in FIGURES:
        raise ValueError(f"unknown figure {fig!r}; one of {list(FIGURES)} or all")
    needs, draw = FIGURES[fig]
    w = default_workers() if workers is None else workers
    cache = {} if cache is None else cache
    tic = time.perf_counter()
    data: dict = {}
    out: dict = {"runs": 0, "wall_s": 0.0, "compile_s": 0.0, "compilations": 0}
    out.update(sources={}, per_run={})
    for name in needs:
        st: dict = {}
        data[name] = runs.get(name, quick, reuse, cache, st, w)
        out["sources"][name] = st.get("source")
        if st.get("source") == "run":
            out["per_run"][name] = st
            out["runs"] += int(st.get("runs", 0))
            out["wall_s"] += float(st.get("wall_s", 0.0))
            out["compile_s"] += float(st.get("compile_s", 0.0))
            out["compilations"] += int(st.get("compilations", 0))
    if folder is None:
        folder = runs.DATA / "quick" / "figures" if quick else OUTPUT_FIGURES
    folder.mkdir(parents=True, exist_ok=True)
    t_draw = time.perf_counter()
    extra = draw(data, folder) or {}
    out["draw_s"] = time.perf_counter() - t_draw
    out["total_s"] = time.perf_counter() - tic
    out.update(extra)
    logger.info(
        "figure %s: %.1fs (runs %.1fs, compile %.1fs, %d compilations, %d runs, draw %.1fs)",
        fig,
        out["total_s"],
        out["wall_s"],
        out["compile_s"],
        out["compilations"],
        out["runs"],
        out["draw_s"],
    )
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--fig", default="all", help=f"comma-separated, from {', '.join(FIGURES)}, or all"
    )
    parser.add_argument(
        "--quick", action="store_true", help="shrunken grids (outputs/marion/quick)"
    )
    parser.add_argument("--replot", action="store_true", help="draw from the saved data sets")
    parser.add_argument(
        "--docs",
        action="store_true",
        help=f"write the committed figures in {DOCS_FIGURES} (default: {OUTPUT_FIGURES})",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="CPU worker processes for the step-bound GD grids (default: one per core)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in ("jax", "jax._src", "implicit_bias.engine"):
        logging.getLogger(name).setLevel(logging.WARNING)
    jax.config.update("jax_enable_x64", True)  # flows are float64; GD grids stay float32
    figs = list(FIGURES) if args.fig == "all" else args.fig.split(",")
    cache: dict = {}
    if args.docs and args.quick:
        parser.error("--docs draws the committed figures from full-size grids, not --quick ones")
    folder = DOCS_FIGURES if args.docs else None
    out = {f: make(f, args.quick, args.replot, cache, args.workers, folder) for f in figs}
    for st in out.values():
        if "gap_fit" in st:
            logger.info("Fig 6 gap fit: %s", {k: np.round(v, 4) for k, v in st["gap_fit"].items()})
        if "constants" in st:
            logger.info(
                "scaling constants: %s", {k: round(v, 4) for k, v in st["constants"].items()}
            )
    return out


if __name__ == "__main__":
    main()
