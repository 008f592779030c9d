"""Random draws that do not depend on the working precision."""

import math

import jax
from jaxtyping import Array, PRNGKeyArray


def normal(key: PRNGKeyArray, shape: tuple[int, ...], dtype) -> Array:
    """Standard normal samples drawn in float32, then cast to ``dtype``.

    ``jax.random.normal`` draws different numbers in float32 and float64 from the same key;
    drawing in float32 always makes a float64 run see the same data and initialization as the
    float32 run of the same seed (up to float32 rounding), so the two precisions can be
    compared run for run.
    """
    return jax.random.normal(key, shape, "float32").astype(dtype)


def normals(key: PRNGKeyArray, shapes: dict[str, tuple[int, ...]], dtype) -> dict[str, Array]:
    """Independent standard normal arrays of the given shapes, from ONE draw.

    One ``jax.random.normal`` call instead of one per array: every call inlines a Threefry
    hash into the program, and compiling ten of them (a ten-layer init) took seconds on CPU.
    """
    sizes = [math.prod(s) for s in shapes.values()]
    flat = normal(key, (sum(sizes),), dtype)
    out, start = {}, 0
    for (name, shape), size in zip(shapes.items(), sizes, strict=True):
        out[name] = flat[start : start + size].reshape(shape)
        start += size
    return out
