"""Type aliases shared across the package."""

from typing import TypeAlias

from jaxtyping import Array, Float

#: Parameters of a model: an ordered ``dict`` from parameter name to array.
Params: TypeAlias = dict[str, Float[Array, "..."]]

#: A real scalar array.
Scalar: TypeAlias = Float[Array, ""]
