"""A sweep as a union of grids: the job overrides of the ``grids`` sweeper.

Hydra's basic sweeper takes the cartesian product of its sweep overrides. A figure often needs
*tied* keys instead, e.g. Marion & Chizat (2024), Fig. 1: each learning rate has its own number
of steps and of repetitions. A sweep file lists grids; each grid is a cartesian product written
with Hydra's sweep syntax, and the sweep is their union::

    hydra:
      sweeper:
        grids:
          - {lr: 0.005, steps: 40000, seed: range(20), init_scale: linspace(0.25,0.6,10)}
          - {lr: 0.2,   steps: 2000,  seed: range(80), init_scale: linspace(0.25,0.6,10)}

Besides Hydra's sweep functions (``range``, ``choice``, ...), grid values may use
``linspace(start, stop, num)`` and ``logspace(start, stop, num)`` (numpy's, base 10), and YAML
lists. Command-line overrides apply to every grid and win over a grid's value for the same key
(``+sweep=marion_fig1 steps=100`` shortens every run); identical jobs are launched once.
"""

from typing import Any

import numpy as np
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser, create_functions
from hydra.core.override_parser.types import ChoiceSweep, Override


def linspace(start: int | float, stop: int | float, num: int) -> ChoiceSweep:
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive (``numpy.linspace``)."""
    return ChoiceSweep(list=[float(x) for x in np.linspace(start, stop, num)])


def logspace(start: int | float, stop: int | float, num: int) -> ChoiceSweep:
    """``num`` values ``10**x`` for x evenly spaced from ``start`` to ``stop`` (numpy)."""
    return ChoiceSweep(list=[float(x) for x in np.logspace(start, stop, num)])


def sweep_parser(config_loader=None) -> OverridesParser:
    """Hydra's override parser with ``linspace`` and ``logspace`` added."""
    functions = create_functions()
    functions.register(name="linspace", func=linspace)
    functions.register(name="logspace", func=logspace)
    return OverridesParser(functions=functions, config_loader=config_loader)


def _value_str(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(_value_str(x) for x in v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    return str(v)


def _key(o: Override) -> str:
    return o.get_key_element().lstrip("+~")


def expand_grids(
    parser: OverridesParser,
    arguments: list[str],
    grids: list[dict[str, Any]],
    params: dict[str, Any] | None = None,
) -> list[list[str]]:
    """The job overrides of a sweep: the union over grids of cartesian products.

    Args:
        parser: from :func:`sweep_parser`.
        arguments: command-line overrides (highest precedence).
        grids: each maps keys to sweep values; ``[]`` means one empty grid.
        params: sweep values shared by every grid (lowest precedence).

    Returns:
        One override list per job, without duplicates, in grid order.
    """
    cmdline = parser.parse_overrides(list(arguments))
    shared = [f"{k}={_value_str(v)}" for k, v in (params or {}).items()]
    jobs: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    for grid in grids or [{}]:
        own = [f"{k}={_value_str(v)}" for k, v in grid.items()]
        merged: dict[str, Override] = {}
        for source in (parser.parse_overrides(shared), parser.parse_overrides(own), cmdline):
            for o in source:
                merged[_key(o)] = o
        (product,) = BasicSweeper.split_arguments(list(merged.values()), None)
        for job in product:
            if tuple(job) not in seen:
                seen.add(tuple(job))
                jobs.append(job)
    return jobs
