"""The status codes of a finished run (``Result.status``) and their names.

A run's status is decided by its integrator from how the run ended
(:meth:`implicit_bias.integrators.AbstractIntegrator.postprocess`):

* ``converged``: the final gradient norm is at most the experiment's ``converge_tol`` (or, for
  an integrator with a stopping event, the event's criterion was met);
* ``diverged``: the training loss became non-finite or exceeded ``divergence_threshold``
  (the run is frozen at its last finite state);
* ``max_steps``: the budget (steps, or the time ``t1``, or the ODE solver's step cap) was
  spent without meeting the convergence criterion.
"""

CONVERGED, DIVERGED, MAX_STEPS = 0, 1, 2
#: Names by code: ``STATUS_NAMES[code]``.
STATUS_NAMES = ("converged", "diverged", "max_steps")
