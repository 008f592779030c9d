"""Cold and warm starts: the same command twice, in fresh processes sharing an empty persistent
compilation cache (the first compiles and writes it, the second should load every program).

    python benchmarks/cold_warm.py                       # `make run` (the default experiment)
    python benchmarks/cold_warm.py --sweep marion_fig4   # a CLI sweep (-m +sweep=...)
    python benchmarks/cold_warm.py --marion=--quick      # the Marion & Chizat bench command

For each command it prints the process wall time of the cold and the warm run and their ratio
(the baseline is the cold run, measured in the same invocation), and for ``make run`` the
engine's own time (``wall_seconds`` of ``metrics.json``: compilation or cache load, and the
run). The cache is a temporary folder (``compilation_cache=<folder>`` through
``IMPLICIT_BIAS_COMPILATION_CACHE``), so the user's cache is neither used nor filled.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from engine import machine

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], cache: Path) -> float:
    env = {**os.environ, "IMPLICIT_BIAS_COMPILATION_CACHE": str(cache)}
    tic = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - tic
    if out.returncode != 0:
        raise SystemExit(f"failed: {shlex.join(cmd)}\n{out.stderr[-3000:]}")
    return wall


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sweep", action="append", default=[], help="a sweeps/ name (repeatable)")
    p.add_argument("--marion", default=None, help="arguments of the marion_chizat bench command")
    p.add_argument("--no-run", action="store_true", help="skip the single run (make run)")
    a = p.parse_args(argv)
    print("command:", shlex.join([sys.executable, *sys.argv]))
    print("machine:", machine(), "| load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not a.no_run:
            walls, engine = [], []
            for i in range(2):
                out = tmp / f"run{i}"
                cmd = [sys.executable, "-m", "implicit_bias.run", f"hydra.run.dir={out}"]
                walls.append(timed(cmd, tmp / "cache-run"))
                engine.append(json.loads((out / "metrics.json").read_text())["wall_seconds"])
            rows.append(("make run (python -m implicit_bias.run)", walls, engine))
        for name in a.sweep:
            walls = []
            for i in range(2):
                cmd = [
                    sys.executable,
                    "-m",
                    "implicit_bias.run",
                    "-m",
                    f"+sweep={name}",
                    f"hydra.sweep.dir={tmp / f'sweep-{name}-{i}'}",
                ]
                walls.append(timed(cmd, tmp / f"cache-{name}"))
            rows.append((f"python -m implicit_bias.run -m +sweep={name}", walls, None))
        if a.marion is not None:
            walls = []
            for _ in range(2):
                cmd = [sys.executable, "-m", "implicit_bias.papers.marion_chizat", "bench"]
                walls.append(timed([*cmd, *shlex.split(a.marion)], tmp / "cache-marion"))
            rows.append((f"marion_chizat bench {a.marion}", walls, None))
    print()
    print("| command | cold s | warm s | warm / cold | engine cold s | engine warm s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (cold, warm), engine in rows:
        eng = ("", "") if engine is None else (f"{engine[0]:.2f}", f"{engine[1]:.2f}")
        print(f"| `{name}` | {cold:.1f} | {warm:.1f} | {warm / cold:.2f} | {eng[0]} | {eng[1]} |")
    print("load average at the end:", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
