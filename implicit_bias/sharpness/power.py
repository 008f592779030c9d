r"""Power iteration, the sharpness estimator of most implicit-bias papers.

:math:`v \leftarrow H v / \|H v\|` converges to the eigenvector of the eigenvalue of largest
*magnitude*, at rate :math:`|\lambda_2 / \lambda_1|` per step (Golub & Van Loan, *Matrix
Computations*, 4th ed., §8.2.1). Marion & Chizat (2024) and Cohen et al. (2021, *Gradient
descent on neural networks typically occurs at the edge of stability*) track the sharpness with
about 20 such steps. It is kept here to reproduce those curves and to compare with
:func:`~implicit_bias.sharpness.lanczos`, which should be preferred.

.. warning::
    **Known pitfall.** Power iteration estimates the *dominant-magnitude* eigenvalue, not the
    largest algebraic one. Near a small initialization of a deep network the Hessian is
    indefinite and often :math:`|\lambda_{\min}| > \lambda_{\max}`: the returned
    ``eigenvalue`` is then *negative* (close to :math:`\lambda_{\min}`) although the sharpness
    is positive. It also converges slowly when the top two magnitudes are close, and not at
    all when :math:`\lambda_{\min} = -\lambda_{\max}` (e.g. at the saddle ``W1 = W2 = 0`` of a
    deep linear net). We keep that behaviour, as in the papers, but report it honestly: see
    ``error_bound`` below.

A second, *shifted* power iteration on :math:`H - \theta I` (its dominant eigenvalue is the
other end of the spectrum of :math:`H`) estimates the opposite extreme :math:`\rho`; it costs
``shifted_iters`` more HVPs (default ``num_iters``, i.e. twice the cost; ``0`` disables it).
"""

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, PRNGKeyArray, PyTree

from ._hvp import LossFn, hvp_operator, random_unit, start_vector
from ._result import SharpnessResult, is_converged


def _power(matvec, v: Array, num_iters: int) -> tuple[Array, Array, Array, Array]:
    """``num_iters`` steps of ``v <- A v / ||A v||`` on the operator ``matvec``.

    Returns the last iterate ``v`` that was multiplied, its Rayleigh quotient ``v^T A v``, its
    residual ``||A v - theta v||`` and ``||A v||``: the pair (``theta``, ``v``) is consistent, so
    the residual is a genuine a-posteriori bound for it.
    """

    def body(_, carry):
        v_next, _, _, _, _ = carry
        v = v_next
        av = matvec(v)
        theta = jnp.vdot(v, av)
        res = jnp.linalg.norm(av - theta * v)
        nav = jnp.linalg.norm(av)
        # Hv = 0 (zero Hessian, or v in its null space): v is an eigenvector, keep it.
        v_next = jnp.where(nav > 0, av / jnp.where(nav > 0, nav, 1.0), v)
        return v_next, v, theta, res, nav

    zero = jnp.zeros((), v.dtype)
    _, v, theta, res, nav = lax.fori_loop(0, num_iters, body, (v, v, zero, zero, zero))
    return v, theta, res, nav


def power_iteration(
    loss_fn: LossFn,
    params: PyTree,
    key: PRNGKeyArray,
    *,
    num_iters: int = 20,
    v0: PyTree | None = None,
    tol: float = 1e-6,
    shifted_iters: int | None = None,
) -> SharpnessResult:
    r"""Dominant-magnitude Hessian eigenvalue by power iteration (see the module warning).

    Args:
        loss_fn: ``loss_fn(params) -> scalar``.
        params: any pytree of float arrays (float32 or float64).
        key: PRNG key for the start vectors.
        num_iters: power steps (HVPs) of the main iteration; static, ``>= 1``.
        v0: warm start (flat ``(p,)`` or a pytree like ``params``); ``None`` / ~0: random.
        tol: relative tolerance of ``converged``.
        shifted_iters: power steps on :math:`H - \theta I` for ``min_eigenvalue``; ``None``
            means ``num_iters``, ``0`` skips it (``min_eigenvalue`` is then NaN).

    Returns:
        :class:`SharpnessResult` with

        * ``eigenvalue`` :math:`\theta = v^\top H v` of the last iterate (the dominant-
          magnitude eigenvalue once converged; possibly :math:`< 0`);
        * ``min_eigenvalue`` :math:`\min(\theta, \rho)` with :math:`\rho = u^\top H u` from
          the shifted iteration;
        * ``error_bound`` the residual :math:`\|H v - \theta v\|`, which bounds the distance to
          the *nearest* eigenvalue and is large until converged. When the shifted iteration
          finds :math:`\rho > \theta`, we know :math:`\lambda_{\max} \ge \rho > \theta`, and the
          bound is raised to :math:`\max(\|Hv - \theta v\|, \rho - \theta + \|Hu - \rho u\|)`
          (a heuristic upper bound, a rigorous lower bound of the error), so the pitfall is
          flagged by ``converged = False``;
        * ``num_hvps = num_iters + shifted_iters``; ``vector`` the last iterate :math:`v`.
    """
    shifted_iters = num_iters if shifted_iters is None else shifted_iters
    if num_iters < 1:
        raise ValueError(f"num_iters={num_iters!r} is invalid: an integer >= 1")
    if shifted_iters < 0:
        raise ValueError(f"shifted_iters={shifted_iters!r} is invalid: an integer >= 0")
    flat, matvec = hvp_operator(loss_fn, params)
    eps = jnp.finfo(flat.dtype).eps
    main_key, shift_key = jax.random.split(key)

    v, theta, res, nav = _power(matvec, start_vector(main_key, flat, v0), num_iters)
    error_bound = res + eps * nav
    if shifted_iters > 0:
        # Rayleigh quotient and residual of H - theta I at u give those of H for free:
        # rho = u^T H u = mu + theta and ||H u - rho u|| = ||(H - theta I) u - mu u||.
        _, mu, res_rho, _ = _power(
            lambda x: matvec(x) - theta * x, random_unit(shift_key, flat), shifted_iters
        )
        rho = mu + theta
        min_eigenvalue = jnp.minimum(theta, rho)
        error_bound = jnp.where(
            rho > theta, jnp.maximum(error_bound, rho - theta + res_rho), error_bound
        )
        num_hvps = num_iters + shifted_iters
    else:
        min_eigenvalue = jnp.full((), jnp.nan, flat.dtype)
        num_hvps = num_iters
    return SharpnessResult(
        eigenvalue=theta,
        min_eigenvalue=min_eigenvalue,
        error_bound=error_bound,
        converged=is_converged(error_bound, theta, tol),
        num_hvps=jnp.asarray(num_hvps, jnp.int32),
        vector=v,
    )
