"""Test-suite setup: float64 available everywhere, JAX quiet, CPU only unless asked."""

import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import jax

# float64 must be enabled before any array is created; tests that exercise float32 pass
# dtype="float32" explicitly.
jax.config.update("jax_enable_x64", True)
logging.getLogger("jax").setLevel(logging.ERROR)


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist's ``loadgroup``, a test file runs on one worker (its compiled
    programs are shared by its tests), except the per-member family tests, which compile their
    own programs and are spread over the workers one by one."""
    import pytest

    for item in items:
        if item.module.__name__ != "test_families":
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
