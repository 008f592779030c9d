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

from implicit_bias.errors import ConfigError


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


def _overrides(parser: OverridesParser, values: dict[str, Any], where: str) -> list[Override]:
    """The overrides ``key=value`` of a grid (or of ``params``), refusing empty lists."""
    for k, v in values.items():
        if isinstance(v, (list, tuple)) and not v:
            raise ConfigError(f"{where}{k}", [], _NON_EMPTY)
    parsed = parser.parse_overrides([f"{k}={_value_str(v)}" for k, v in values.items()])
    _check_not_empty(parsed, where)
    return parsed


#: What a swept key allows: an empty sweep would make a sweep with no points.
_NON_EMPTY = "at least one value (a sweep over no values has no points)"


def _check_not_empty(overrides: list[Override], where: str) -> None:
    for o in overrides:
        if o.is_sweep_override() and not list(o.sweep_string_iterator()):
            text = str(o.input_line).split("=", 1)[-1]
            raise ConfigError(f"{where}{_key(o)}", text, _NON_EMPTY)


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

    Raises:
        ConfigError: for a sweep value with no values (``lr=range(0)``, an empty list in a
            grid), which would make a sweep with no points, naming where it was given.
    """
    cmdline = parser.parse_overrides(list(arguments))
    _check_not_empty(cmdline, "")
    shared = _overrides(parser, params or {}, "hydra.sweeper.params.")
    jobs: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    for i, grid in enumerate(grids or [{}]):
        own = _overrides(parser, grid, f"hydra.sweeper.grids[{i}].")
        merged: dict[str, Override] = {}
        for source in (shared, own, cmdline):
            for o in source:
                merged[_key(o)] = o
        (product,) = BasicSweeper.split_arguments(list(merged.values()), None)
        for job in product:
            if tuple(job) not in seen:
                seen.add(tuple(job))
                jobs.append(job)
    return jobs
