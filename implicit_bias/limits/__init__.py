"""Reference steps: the limit a theorem predicts for a run, computed independently."""

from ._base import AbstractLimit as AbstractLimit
