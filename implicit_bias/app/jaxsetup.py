"""Process-wide JAX settings the app applies before it builds anything."""

import logging


def quiet_jax_logs() -> None:
    """JAX's own INFO/WARNING chatter is not the user's business."""
    for name in ("jax", "jax._src", "absl", "jax._src.xla_bridge"):
        logging.getLogger(name).setLevel(logging.ERROR)


def configure_jax(dtype: str) -> None:
    """Enable float64 (``jax_enable_x64``, a process-wide switch) for a float64 config."""
    if dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)
