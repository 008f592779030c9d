"""Wall time of the whole Marion & Chizat (2024) reproduction with the paper's grids.

    python -m implicit_bias.papers.marion_chizat bench [--figs 1,flow,1cd,2,4,5,6,7] [--quick]
        [--workers N]

Runs each figure of :mod:`implicit_bias.papers.marion_chizat.figures` (grid + plot) with the
paper's grids and
step counts and prints, per figure: runs, wall time, compile time, number of compilations of
the engine's programs (:func:`implicit_bias.compilations.count_compilations`), and the total against
the paper's code: about 9 hours for everything and about 1.2 hours for Fig. 1 alone on a 2-core
CPU (the "Measured hints" of the reproduction issue). Targets: Fig. 1 <= 60 s, everything
<= 5 min on the 2-core CPU.
"""

import argparse
import logging
import os
import platform
import sys
import time

import jax

PAPER_ALL_S = 9 * 3600.0
PAPER_FIG1_S = 1.2 * 3600.0


def machine() -> str:
    dev = jax.devices()[0]
    try:
        load = f"load avg {os.getloadavg()[0]:.1f}"
    except OSError:
        load = ""
    return (
        f"{platform.node()} | {platform.processor() or platform.machine()} | "
        f"{os.cpu_count()} cpus | jax {jax.__version__} | backend {jax.default_backend()} "
        f"({dev.device_kind}) | {load}"
    )


def main(argv=None) -> dict:
    from implicit_bias.papers.marion_chizat import figures as figs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figs", default=",".join(figs.FIGS))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="CPU worker processes for the step-bound figures (default: one per core)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("jax").setLevel(logging.WARNING)
    logging.getLogger("implicit_bias.engine").setLevel(logging.WARNING)
    jax.config.update("jax_enable_x64", True)
    print("command:", " ".join([sys.executable, *sys.argv]))
    print("machine:", machine())
    workers = figs.default_workers() if args.workers is None else args.workers
    print(f"worker processes for figures {', '.join(figs.WORKER_FIGS)}: {workers}")
    cache: dict = {}
    stats = {}
    tic = time.perf_counter()
    for f in args.figs.split(","):
        stats[f] = figs.make(f, args.quick, cache, workers=args.workers)
    total = time.perf_counter() - tic
    print()
    print("| figure | runs | wall s | compile s | compilations |")
    print("| --- | --- | --- | --- | --- |")
    for f, st in stats.items():
        print(
            f"| {f} | {st.get('runs', '?')} | {st['total_s']:.1f} | "
            f"{st.get('compile_s', float('nan')):.1f} | {st.get('compilations', '?')} |"
        )
    print(
        f"| total | {sum(s.get('runs', 0) for s in stats.values())} | {total:.1f} | "
        f"{sum(s.get('compile_s', 0.0) for s in stats.values()):.1f} | "
        f"{sum(s.get('compilations', 0) for s in stats.values())} |"
    )
    if args.quick:
        print(f"quick (shrunken) grids: {total:.1f} s; not comparable with the paper's timings")
        return stats
    if "1" in stats:
        t1 = stats["1"]["total_s"]
        print(
            f"Fig. 1: {t1:.1f} s (target 60 s); paper's code ~{PAPER_FIG1_S / 3600:.1f} h: "
            f"{PAPER_FIG1_S / t1:.0f}x faster"
        )
    print(
        f"all ({args.figs}): {total:.1f} s (target 300 s); paper's code ~9 h for everything: "
        f"{PAPER_ALL_S / total:.0f}x faster"
    )
    return stats


if __name__ == "__main__":
    main()
