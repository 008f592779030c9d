"""Wall time of the whole Marion & Chizat (2024) reproduction: every figure, full size.

    python -m implicit_bias.papers.marion_chizat bench [--figs 1,1cd,...] [--quick]
        [--workers N]

Runs each figure of :mod:`.figures` from scratch (grids, flows, drawing; nothing reused from
disk) and prints, per figure: runs computed, wall time, compile time, number of compilations
(:func:`implicit_bias.compilations.count_compilations`; worker processes compile in parallel,
their compile seconds add up), then the same per data set (a figure can use several, a data
set is computed once), the total against the paper's code (about 9 hours on the project's
2-core CPU, the reproduction issue's measurement) and, measured in the same run, the Fig 1
grid under the paper's protocol (one data set) against the same grid with one data set per
repetition (the previous protocol, now the ``robustness`` figure).
"""

import argparse
import logging
import os
import platform
import sys
import time

import jax

PAPER_ALL_S = 9 * 3600.0


def machine() -> str:
    dev = jax.devices()[0]
    return (
        f"{platform.node()} | {platform.processor() or platform.machine()} | "
        f"{os.cpu_count()} cpus | jax {jax.__version__} | backend {jax.default_backend()} "
        f"({dev.device_kind})"
    )


def _load() -> str:
    try:
        return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load average n/a"


def main(argv=None) -> dict:
    from implicit_bias.papers.marion_chizat import figures as figs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figs", default=",".join(figs.FIGURES))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in ("jax", "jax._src", "implicit_bias.engine"):
        logging.getLogger(name).setLevel(logging.WARNING)
    jax.config.update("jax_enable_x64", True)
    print("command:", " ".join([sys.executable, *sys.argv]))
    print("machine:", machine())
    print("start:", _load())
    workers = figs.default_workers() if args.workers is None else args.workers
    print(f"worker processes for the step-bound GD grids: {workers}")
    cache: dict = {}
    stats = {}
    tic = time.perf_counter()
    for f in args.figs.split(","):
        stats[f] = figs.make(f, args.quick, reuse=False, cache=cache, workers=args.workers)
    total = time.perf_counter() - tic
    print("end:", _load())
    print()
    print("| figure | runs | wall s (runs + drawing) | compile s | compilations |")
    print("| --- | --- | --- | --- | --- |")
    for f, st in stats.items():
        print(
            f"| {f} | {st['runs']} | {st['total_s']:.1f} | {st['compile_s']:.1f} | "
            f"{st['compilations']} |"
        )
    print(
        f"| total | {sum(s['runs'] for s in stats.values())} | {total:.1f} | "
        f"{sum(s['compile_s'] for s in stats.values()):.1f} | "
        f"{sum(s['compilations'] for s in stats.values())} |"
    )
    print()
    print("| data set | runs | wall s | compile s | compilations |")
    print("| --- | --- | --- | --- | --- |")
    per = {k: v for st in stats.values() for k, v in st["per_run"].items()}
    for name, st in per.items():
        print(
            f"| {name} | {st.get('runs', '?')} | {st.get('wall_s', float('nan')):.1f} | "
            f"{st.get('compile_s', 0.0):.1f} | {st.get('compilations', 0)} |"
        )
    if "fig1" in per and "robustness" in per:
        a, b = per["fig1"]["wall_s"], per["robustness"]["wall_s"]
        print(
            f"Fig 1 grid, one data set (paper's protocol): {a:.1f} s; one data set per "
            f"repetition (previous protocol): {b:.1f} s; ratio {a / b:.2f}"
        )
    if args.quick:
        print(f"quick (shrunken) grids: {total:.1f} s; not comparable with the paper's timings")
        return stats
    print(
        f"all ({args.figs}): {total:.1f} s; the paper's code ~9 h for its figures: "
        f"{PAPER_ALL_S / total:.0f}x faster"
    )
    return stats


if __name__ == "__main__":
    main()
