"""Test-suite setup: float64 available everywhere, JAX quiet, CPU only unless asked."""

import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import jax

# float64 must be enabled before any array is created; tests that exercise float32 pass
# dtype="float32" explicitly.
jax.config.update("jax_enable_x64", True)
logging.getLogger("jax").setLevel(logging.ERROR)
