"""How an experiment measures sharpness: the estimator, its budget, and when."""

import equinox as eqx

from ..errors import check, is_finite


class SharpnessSpec(eqx.Module):
    """How sharpness (top Hessian eigenvalue of the training loss) is measured in a run.

    The one source of these defaults: the config group ``sharpness`` and its schema read them
    from here.

    Attributes:
        method: a name of :data:`implicit_bias.sharpness.ESTIMATORS` (``lanczos``, the default;
            ``power``, as in the papers; ``exact``, the dense Hessian, small models only) or
            ``none``.
        num_iters: Hessian-vector products per estimate; ``None``: the method's default.
        track: measure it at every record point (warm-started), not only at the start and
            the end of training.
        tol: relative error-bound threshold of the estimate's ``converged`` flag.

    Raises:
        ConfigError: for an unknown method or a bad number.
    """

    method: str = "lanczos"
    num_iters: int | None = None
    track: bool = True
    tol: float = 1e-6

    def __check_init__(self):
        from . import METHODS

        allowed = (*METHODS, "none")
        check(self.method in allowed, "sharpness.method", self.method, f"one of {list(allowed)}")
        check(
            self.num_iters is None or self.num_iters >= 1,
            "sharpness.num_iters",
            self.num_iters,
            "null or an integer >= 1",
        )
        check(is_finite(self.tol) and self.tol > 0, "sharpness.tol", self.tol, "a finite float > 0")


#: Operators :class:`SpectrumSpec` can measure.
SPECTRUM_OPERATORS = ("hessian", "gauss_newton")

#: Every array a spectrum measurement may record (one trajectory, one measurement point), with
#: the names of its axes beyond the run and the record point: ``(top,)`` is ``k_top`` values,
#: ``(probe, node)`` is ``density_probes x min(density_iters, p)``. The engine writes these
#: names, the run directory and ``sweep.nc`` read the axes from here.
SPECTRUM_AXES: dict[str, tuple[str, ...]] = {
    "spectrum_top": ("top",),
    "spectrum_top_error_bound": ("top",),
    "spectrum_bottom": ("bottom",),
    "spectrum_bottom_error_bound": ("bottom",),
    "spectrum_above_count": (),
    "trace": (),
    "trace_std_error": (),
    "trace_sq": (),
    "trace_sq_std_error": (),
    "density_nodes": ("probe", "node"),
    "density_weights": ("probe", "node"),
}


class SpectrumSpec(eqx.Module):
    r"""Which parts of the Hessian spectrum a run records, beyond the sharpness (off by default).

    Every field is static (a change recompiles); everything is measured with the matrix-free
    estimators of :mod:`implicit_bias.sharpness` (docs/spectrum.md) at the initial point, the
    final point and, with ``track``, at every record point, batched over the runs of a sweep
    like the sharpness. The one source of these defaults: the config group ``spectrum`` and its
    schema read them from here.

    Recorded (per measurement; see :data:`SPECTRUM_AXES`):

    * ``k_top > 0``: ``spectrum_top`` ``(k_top,)``, the largest eigenvalues (descending), and
      ``spectrum_top_error_bound`` ``(k_top,)``, their certified residual bounds
      (:func:`~implicit_bias.sharpness.eigenpairs`); warm-started from the previous
      measurement's vectors.
    * ``k_bottom > 0``: ``spectrum_bottom`` and ``spectrum_bottom_error_bound`` ``(k_bottom,)``
      (ascending), from the same Krylov space.
    * ``threshold_c``: ``spectrum_above_count``, how many of the ``k_top`` are above
      :math:`c / \eta` (the central-flows measure, Cohen et al. 2025, with :math:`c = 1.5`);
      if it equals ``k_top`` there may be more (raise ``k_top``). Stored in the float dtype
      of the run, as every measurement (NaN where not measured).
    * ``trace_probes > 0``: ``trace``, ``trace_sq`` (:math:`\operatorname{tr} A^2`) and their
      standard errors (:func:`~implicit_bias.sharpness.trace`, ``trace_method``).
    * ``density_probes > 0``: ``density_nodes`` and ``density_weights`` ``(density_probes,
      min(density_iters, p))``, the stochastic Lanczos quadrature of the spectral density
      (:func:`~implicit_bias.sharpness.slq`); the run directory plots it.

    Attributes:
        operator: ``hessian`` (:class:`~implicit_bias.sharpness.Hessian` of the training loss)
            or ``gauss_newton`` (:class:`~implicit_bias.sharpness.GaussNewton`,
            :math:`J^\top H_\ell J` of the model's outputs on the training set).
        k_top: number of largest eigenvalues (0: none).
        k_bottom: number of smallest eigenvalues (0: none).
        threshold_c: count the top eigenvalues above ``threshold_c / lr`` (discrete
            integrators; needs ``k_top >= 1``); ``None``: no count.
        krylov_dim: basis size of the block Lanczos; ``None``: its default
            (``max(40, 4 (k_top + k_bottom) + block)``), capped at the parameter count.
        max_restarts: thick restarts at most.
        tol: relative tolerance of the eigenpairs' restarts; ``None``: ``max(1e-6, 1000 eps)``.
        trace_probes: products of the trace estimate (0: no trace; at least 2 for
            ``hutchinson``, 6 for ``hutch++``).
        trace_method: ``hutchinson`` or ``hutch++``.
        density_probes: probes of the spectral density (0: no density; else at least 2).
        density_iters: Lanczos steps per probe (capped at the parameter count).
        track: measure at every record point too, not only at the start and the end.

    Raises:
        ConfigError: for an unknown name or a bad number, naming ``spectrum.<field>``.
    """

    operator: str = "hessian"
    k_top: int = 0
    k_bottom: int = 0
    threshold_c: float | None = None
    krylov_dim: int | None = None
    max_restarts: int = 10
    tol: float | None = None
    trace_probes: int = 0
    trace_method: str = "hutchinson"
    density_probes: int = 0
    density_iters: int = 32
    track: bool = True

    def __check_init__(self):
        from .trace import TRACE_METHODS

        check(
            self.operator in SPECTRUM_OPERATORS,
            "spectrum.operator",
            self.operator,
            f"one of {list(SPECTRUM_OPERATORS)}",
        )
        for key in ("k_top", "k_bottom", "trace_probes", "density_probes"):
            value = getattr(self, key)
            check(_is_count(value, 0), f"spectrum.{key}", value, "an integer >= 0")
        check(
            self.threshold_c is None or (is_finite(self.threshold_c) and self.threshold_c > 0),
            "spectrum.threshold_c",
            self.threshold_c,
            "null or a finite float > 0",
        )
        check(
            self.threshold_c is None or self.k_top >= 1,
            "spectrum.threshold_c",
            self.threshold_c,
            "null unless spectrum.k_top >= 1 (the count is taken among the top k_top)",
        )
        check(
            self.krylov_dim is None or _is_count(self.krylov_dim, 1),
            "spectrum.krylov_dim",
            self.krylov_dim,
            "null or an integer >= 1",
        )
        check(
            _is_count(self.max_restarts, 0),
            "spectrum.max_restarts",
            self.max_restarts,
            "an integer >= 0",
        )
        check(
            self.tol is None or (is_finite(self.tol) and self.tol > 0),
            "spectrum.tol",
            self.tol,
            "null or a finite float > 0",
        )
        check(
            self.trace_method in TRACE_METHODS,
            "spectrum.trace_method",
            self.trace_method,
            f"one of {list(TRACE_METHODS)}",
        )
        minimum = 2 if self.trace_method == "hutchinson" else 6
        check(
            self.trace_probes == 0 or self.trace_probes >= minimum,
            "spectrum.trace_probes",
            self.trace_probes,
            f"0 (no trace) or an integer >= {minimum} for {self.trace_method}",
        )
        check(
            self.density_probes != 1,
            "spectrum.density_probes",
            self.density_probes,
            "0 (no density) or an integer >= 2 (for a standard error)",
        )
        check(
            _is_count(self.density_iters, 1),
            "spectrum.density_iters",
            self.density_iters,
            "an integer >= 1",
        )

    @property
    def enabled(self) -> bool:
        """Whether anything is measured (the default measures nothing)."""
        return (self.k_top + self.k_bottom + self.trace_probes + self.density_probes) > 0

    @property
    def eigen(self) -> bool:
        """Whether eigenpairs are computed (``k_top`` or ``k_bottom`` positive)."""
        return self.k_top + self.k_bottom > 0

    def keys(self) -> tuple[str, ...]:
        """The names of :data:`SPECTRUM_AXES` this spec records, in that order."""
        wanted = {
            "spectrum_top": self.k_top > 0,
            "spectrum_top_error_bound": self.k_top > 0,
            "spectrum_bottom": self.k_bottom > 0,
            "spectrum_bottom_error_bound": self.k_bottom > 0,
            "spectrum_above_count": self.threshold_c is not None,
            "trace": self.trace_probes > 0,
            "trace_std_error": self.trace_probes > 0,
            "trace_sq": self.trace_probes > 0,
            "trace_sq_std_error": self.trace_probes > 0,
            "density_nodes": self.density_probes > 0,
            "density_weights": self.density_probes > 0,
        }
        return tuple(k for k in SPECTRUM_AXES if wanted[k])

    def shapes(self, p: int) -> dict[str, tuple[int, ...]]:
        """Shape of each recorded array for one trajectory of ``p`` trainable parameters."""
        sizes = {
            "top": self.k_top,
            "bottom": self.k_bottom,
            "probe": self.density_probes,
            "node": min(self.density_iters, p),
        }
        return {k: tuple(sizes[a] for a in SPECTRUM_AXES[k]) for k in self.keys()}


def _is_count(value: object, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum
