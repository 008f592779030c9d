"""Cost of the restart candidate in the Lanczos step (issue 11, item 5).

``tridiagonalize`` as built (the restart direction built only at a breakdown, for the whole
batch when any run broke down: ``restart_direction``'s batching rule) against the same scan
with no restart at all (the baseline, measured in the same run), vmapped over a batch, with a
cheap product (a diagonal scaling) so that Gram-Schmidt is all the work. Before the batching
rule, every step orthogonalized a restart candidate too: 2.2-2.9x the baseline on these cases.
The last case has a rank-10 matrix in one run of the batch, so that run breaks down every 11
steps and the restart is built for the batch at those steps.

    python benchmarks/lanczos_restart.py
"""

import os
import sys
import time

import jax
import jax.numpy as jnp
from jax import lax

from implicit_bias.sharpness._tridiag import safe_div, tridiagonalize

sys.path.insert(0, os.path.dirname(__file__))
from engine import machine

#: (p, k, batch, rank of the first run's matrix: None = full rank)
CASES = [(100_000, 30, 4, None), (20_000, 60, 16, None), (2_000, 60, 64, None), (2_000, 60, 64, 10)]


def without_candidate(matvec, v1, k: int):
    """The same scan, only the product orthogonalized (twice, as in tridiagonalize)."""

    def step(carry, j):
        basis, v = carry
        basis = basis.at[j].set(v)
        hv = matvec(v)
        c1 = basis @ hv
        w = hv - c1 @ basis
        c2 = basis @ w
        w = w - c2 @ basis
        beta = jnp.linalg.norm(w)
        return (basis, safe_div(w, beta)), (c1[j] + c2[j], beta)

    init = (jnp.zeros((k, v1.shape[0]), v1.dtype), v1)
    return lax.scan(step, init, jnp.arange(k))


def best_of(fn, *args, repeats: int = 7) -> float:
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - tic)
    return min(times)


def case(p: int, k: int, b: int, rank: int | None) -> str:
    d = jnp.broadcast_to(jnp.linspace(0.0, 1.0, p), (b, p))
    if rank is not None:
        d = d.at[0, : p - rank].set(0.0)

    keys = jax.random.split(jax.random.key(0), b)
    v1 = jax.vmap(lambda key: jax.random.normal(key, (p,)))(keys)
    v1 = v1 / jnp.linalg.norm(v1, axis=1, keepdims=True)
    restart = jax.vmap(lambda key: jax.random.normal(jax.random.fold_in(key, 1), (p,)))(keys)
    built = jax.jit(jax.vmap(lambda dd, v, r: tridiagonalize(lambda x: dd * x, v, r, k)))
    bare = jax.jit(jax.vmap(lambda dd, v: without_candidate(lambda x: dd * x, v, k)))
    tw, to = best_of(built, d, v1, restart), best_of(bare, d, v1)
    return (
        f"p={p:7d} k={k:3d} batch={b:3d} rank of run 0 {rank or 'full'}: as built "
        f"{tw * 1e3:8.1f} ms, no restart {to * 1e3:8.1f} ms, ratio {tw / to:.2f}"
    )


def main() -> None:
    print("command:", " ".join(["python", *sys.argv]))
    print("machine:", machine(), "| load", os.getloadavg())
    for p, k, b, rank in CASES:
        print(case(p, k, b, rank), flush=True)


if __name__ == "__main__":
    main()
