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
