"""Process-wide JAX settings the app applies before it builds anything."""

import logging


def quiet_jax_logs() -> None:
    """JAX's own INFO/WARNING chatter is not the user's business."""
    for name in ("jax", "jax._src", "absl", "jax._src.xla_bridge"):
        logging.getLogger(name).setLevel(logging.ERROR)


def configure_jax(dtype: str, compilation_cache: str | None = "auto") -> None:
    """Enable float64 (``jax_enable_x64``, a process-wide switch) for a float64 config, and set
    up the persistent compilation cache (the ``compilation_cache`` key; see
    :func:`implicit_bias.compilations.enable_persistent_cache`)."""
    import jax

    from implicit_bias.compilations import enable_persistent_cache

    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    enable_persistent_cache(compilation_cache)
