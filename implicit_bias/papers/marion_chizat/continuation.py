r"""GD continued in float64 from a float32 run's end point: is the end point a limit of GD?

The classical stability condition (paper text line 5, "the sharpness should remain lower than
2 / eta", and line 15, the edge-of-stability bound on "the sharpness of the minimizer" GD
finds) is a statement about gradient descent: a minimizer ``theta*`` with sharpness
``S > 2 / lr`` is linearly unstable, since the iteration map's Jacobian ``I - lr H`` has the
eigenvalue ``1 - lr S < -1`` there, so GD leaves it (the error along the top eigenvector is
multiplied by ``|1 - lr S| > 1`` at every step).

Float32 GD can nevertheless stop at such a minimizer: once every update ``lr * grad`` is below
half the float32 spacing of the parameters, the rounded iterate no longer moves, whatever the
curvature. Measured on the robustness grid (``lr = 0.07``, init scale 0.444, repetition 18):
the run reaches a minimizer with ``S = 28.918`` (``lr S / 2 = 1.0121``; Lanczos equals the
dense float64 Hessian's top eigenvalue to 4e-7 relative) by step 100 and stays there until step
4000 with gradient norm ~2e-7: its updates are at most 7.4e-9 while the parameters' float32
spacing is ~3e-8 (7 of 230 components' updates reach half a spacing). Continued in float64 from
the same point at the same lr, GD leaves within ~500 steps (gradient norm up to 0.04) and
settles at a minimizer with ``S = 28.263`` (``lr S / 2 = 0.9892``) -- the minimizer the same run
reaches in float32 when it runs alone (another float32 summation order).

:func:`continue_gd` measures this for every run: ``steps`` more GD steps in float64 from the
run's final parameters at the run's own lr, then the dense float64 Hessian (``jax.hessian`` +
``eigh``) at the float32 end point and at the continued one. A float32 end point is a limit of
GD when the continuation settles (small gradient) without changing the sharpness.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from implicit_bias.papers.marion_chizat.criteria import GRAD_TOL
from implicit_bias.result import Result
from implicit_bias.sharpness.exact import exact

__all__ = ["CONTINUE_STEPS", "continue_gd"]

_KEYS = (
    "final_sharpness_exact",
    "gd64_sharpness",
    "gd64_min_eigenvalue",
    "gd64_grad_norm",
    "gd64_train_loss",
    "gd64_moved",
)

#: Float64 GD steps after a float32 run. The error along an unstable top direction grows by
#: ``|1 - lr S| = 1 + 2 eps`` per step (``eps = lr S / 2 - 1``); from the float32 rounding of
#: the end point (~1e-8) to leaving (~1e-2) takes ``ln(1e6) / (2 eps)`` steps: 2000 steps
#: move every end point with ``eps >= 0.0035`` (the claim's tolerance is 0.01). The run
#: measured above (``eps = 0.012``) left by +500 and settled (gradient 1e-7) by +1250.
CONTINUE_STEPS = 2000


@eqx.filter_jit
def _continue(exp, params, data, lr, steps):
    def one(params, data, lr):
        # GD moves the trainable parameters only (the residual model's projection is frozen).
        trainable = {k: v for k, v in params.items() if k not in exp.model.frozen}

        def loss(tr):
            full = {k: tr[k] if k in tr else v for k, v in params.items()}
            return exp.loss(exp.model, full, data)

        def step(_, tr):
            g = jax.grad(loss)(tr)
            return jax.tree.map(lambda p, gi: p - lr * gi, tr, g)

        end = jax.lax.fori_loop(0, steps, step, trainable)
        start_res, end_res = exact(loss, trainable), exact(loss, end)
        flat0 = ravel_pytree(trainable)[0]
        flat1 = ravel_pytree(end)[0]
        grad = ravel_pytree(jax.grad(loss)(end))[0]
        return {
            "final_sharpness_exact": start_res.eigenvalue,
            "gd64_sharpness": end_res.eigenvalue,
            "gd64_min_eigenvalue": end_res.min_eigenvalue,
            "gd64_grad_norm": jnp.linalg.norm(grad),
            "gd64_train_loss": loss(end),
            "gd64_moved": jnp.linalg.norm(flat1 - flat0),
        }

    return jax.vmap(one)(params, data, lr)


def continue_gd(exp, res: Result, b: int, steps: int = CONTINUE_STEPS) -> dict[str, np.ndarray]:
    """GD continued in float64 from the final parameters of the first ``b`` runs of ``res``.

    Only the stationary runs (finite final loss, final gradient norm ``<= GRAD_TOL``, the runs
    :mod:`.criteria` can count as at a minimizer) are continued; they are batched in sizes
    rounded up to a power of two, so that a grid compiles a few programs at most.

    Args:
        exp: the runs' Experiment (model and loss; its dtype is ignored).
        res: a batch of GD runs.
        b: how many of its runs (the rest is padding).
        steps: float64 GD steps, at each run's own lr.

    Returns:
        ``(b,)`` float64 arrays: ``final_sharpness_exact`` (top eigenvalue of the dense float64
        Hessian at the run's end point), ``gd64_sharpness`` and ``gd64_min_eigenvalue`` (at
        the continued end point), ``gd64_grad_norm``, ``gd64_train_loss`` and ``gd64_moved``
        (Euclidean distance between the two end points). NaN for a run not continued.

    Raises:
        RuntimeError: without ``jax_enable_x64`` (the point is float64 arithmetic).
    """
    if not jax.config.read("jax_enable_x64"):
        raise RuntimeError("continue_gd needs jax_enable_x64 (float64 GD)")
    out = {k: np.full(b, np.nan) for k in _KEYS}
    loss = np.asarray(res.final["train_loss"], np.float64)[:b]
    grad = np.asarray(res.final["grad_norm"], np.float64)[:b]
    idx = np.flatnonzero(np.isfinite(loss) & (grad <= GRAD_TOL))
    if idx.size == 0:
        return out
    size = 1 << int(np.ceil(np.log2(idx.size)))
    take = np.concatenate([idx, np.full(size - idx.size, idx[-1])])  # pad with a copy

    def f64(tree):
        return jax.tree.map(
            lambda a: (
                jnp.asarray(np.asarray(a)[take], jnp.float64)
                if jnp.issubdtype(jnp.asarray(a).dtype, jnp.floating)
                else jnp.asarray(np.asarray(a)[take])
            ),
            tree,
        )

    lr = jnp.asarray(np.asarray(res.scalars.lr, np.float64)[take])
    got = _continue(exp, f64(res.params), f64(res.data), lr, jnp.asarray(steps))
    for k in _KEYS:
        out[k][idx] = np.asarray(got[k], np.float64)[: idx.size]
    return out
