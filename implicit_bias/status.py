"""The status codes of a finished run (``Result.status``), their names, and the criteria that
decide them.

A run's status is decided by its integrator from how the run ended
(:meth:`implicit_bias.integrators.AbstractIntegrator.postprocess`), from the numbers that
:func:`criteria` computes (``metrics.json`` records them under ``status_criteria``). With
``g`` the full-batch gradient norm, ``L`` the training loss, subscripts ``0`` at
initialization and ``T`` at the end, ``L*`` the smallest training loss when it is known
(``final["optimal_loss"]``, see :meth:`implicit_bias.problem.Problem.optimal_loss`), and
``lambda_min``, ``lambda_max`` the extreme Hessian eigenvalues measured at the end, the
statuses are decided in this order:

1. ``diverged``: the training loss became non-finite or exceeded ``divergence_threshold``
   (the run is frozen at its last finite state).
2. ``solver_failed``: a gradient flow whose ODE solver gave up before ``t1`` (diffrax's
   ``max_steps``); the time it reached is ``Result.reached`` (``time_reached``).
3. ``converged`` by a continuous integrator's own stopping event (gradient flow's
   ``loss_tol``: the final loss is below it).
4. ``stationary`` (stopped at a point not shown to be a minimizer), either
   * *never moved*: ``g_0 == 0`` exactly and ``L_T == L_0`` (every step was a no-op), unless
     the point is a minimizer by the optimum test below; or
   * *saddle*: the gradient test holds and ``lambda_min < -SADDLE_RTOL * |lambda_max|``
     (a negative Ritz/Rayleigh value bounds the true ``lambda_min`` from above, so this
     certifies a direction of negative curvature; the relative margin absorbs rounding).
5. ``converged``: the *gradient test* ``g_T <= max(converge_tol, 100 eps) * max(g_0, L_0)``
   (relative to the initial gradient and to the loss scale; ``eps`` the dtype's roundoff,
   :data:`ROUNDING_FLOOR`) holds and, when ``L*`` is known, it is attained (not on separable
   data for the logistic and exponential losses: no minimizer, ``optimum_attained``) and so
   does the *optimum test* ``L_T - L* <= OPTIMUM_RTOL * max(L_0 - L*, |L*|)``.
6. ``max_steps``: otherwise: the budget (``steps``, or ``t1``) ran out before the run was
   shown converged (still moving, or crawling on a flat stretch far from the optimum).
"""

import jax.numpy as jnp
from jaxtyping import Array

CONVERGED, DIVERGED, MAX_STEPS, STATIONARY, SOLVER_FAILED = 0, 1, 2, 3, 4
#: Names by code: ``STATUS_NAMES[code]``.
STATUS_NAMES = ("converged", "diverged", "max_steps", "stationary", "solver_failed")

#: A final ``lambda_min < -SADDLE_RTOL * |lambda_max|`` is a saddle. Rounding puts the smallest
#: eigenvalue of a minimizer with flat directions at about ``eps * |lambda_max|`` (1e-7 in
#: float32), far above this margin; the saddles of deep linear nets near the origin have
#: ``|lambda_min|`` comparable to ``lambda_max`` (ratio ~0.9 at scale 0.1).
SADDLE_RTOL = 1e-3
#: The gradient test's relative tolerance is at least this many units of roundoff of the run's
#: dtype: a gradient computed in float32 is not resolved below ~1e-6 of its scale (1.2e-5 with
#: this floor), so a float64 tolerance (``converge_tol=1e-8``) still means something in
#: float32; in float64 the floor (2.2e-14) is below every preset's tolerance.
ROUNDING_FLOOR = 100
#: The optimum test's tolerance on the loss gap, relative to the initial gap (or to ``|L*|``).
OPTIMUM_RTOL = 1e-3


def criteria(
    initial: dict[str, Array], final: dict[str, Array], converge_tol: float
) -> dict[str, Array]:
    """The numbers a status is decided from, for one run (scalars; vmap for a batch).

    Args:
        initial, final: the run's metrics at initialization and at the end (``grad_norm``,
            ``train_loss``; ``final`` may hold ``optimal_loss``, ``min_eigenvalue`` and
            ``sharpness``, NaN or absent when unknown).
        converge_tol: the experiment's relative gradient tolerance.

    Returns:
        The inputs of each test and its outcome: ``grad_tol`` and ``gradient_test``;
        ``optimal_loss``, ``loss_gap``, ``gap_tol`` and ``optimum_test`` (true when ``L*`` is
        unknown); ``saddle_tol`` and ``saddle``; ``never_moved``.
    """
    g0, gT = initial["grad_norm"], final["grad_norm"]
    L0, LT = initial["train_loss"], final["train_loss"]
    nan = jnp.full((), jnp.nan, LT.dtype)
    rtol = jnp.maximum(converge_tol, ROUNDING_FLOOR * jnp.finfo(LT.dtype).eps)
    grad_tol = rtol * jnp.maximum(g0, L0)
    gradient_test = gT <= grad_tol
    opt = final.get("optimal_loss", nan)
    known = jnp.isfinite(opt)
    attained = jnp.asarray(final.get("optimum_attained", True), bool)
    gap = LT - opt
    gap_tol = OPTIMUM_RTOL * jnp.maximum(L0 - opt, jnp.abs(opt))
    # An infimum that no finite point attains (separable data): no run is at a minimizer.
    at_optimum = known & attained & (gap <= gap_tol)
    optimum_test = ~known | at_optimum
    lam_min = final.get("min_eigenvalue", nan)
    lam_max = final.get("sharpness", nan)
    saddle_tol = SADDLE_RTOL * jnp.abs(lam_max)
    saddle = gradient_test & jnp.isfinite(lam_min) & (lam_min < -saddle_tol)
    never_moved = (g0 == 0) & (LT == L0) & ~at_optimum
    return {
        "grad_norm": gT,
        "initial_grad_norm": g0,
        "initial_train_loss": L0,
        "grad_tol": grad_tol,
        "gradient_test": gradient_test,
        "optimal_loss": opt,
        "loss_gap": gap,
        "gap_tol": gap_tol,
        "optimum_attained": attained | ~known,
        "optimum_test": optimum_test,
        "min_eigenvalue": lam_min,
        "saddle_tol": saddle_tol,
        "saddle": saddle,
        "never_moved": never_moved,
    }


def decide(c: dict[str, Array]) -> Array:
    """The status code from :func:`criteria` for a run that neither diverged nor failed."""
    return jnp.where(
        c["never_moved"] | c["saddle"],
        STATIONARY,
        jnp.where(c["gradient_test"] & c["optimum_test"], CONVERGED, MAX_STEPS),
    ).astype(jnp.int32)
