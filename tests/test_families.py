"""Every member of every family through the same checks (the members: ``tests/helpers.py``).

For each model, data generator, init, loss, integrator and sharpness method:

* its config option composes and builds (``<group>=<name>``), into that class;
* a batch of 4 runs equals the same 4 runs one at a time (float64; each run is an independent
  vmap lane, so only the order of floating-point sums may differ);
* changing lr, init scale and seed never recompiles (the 3 later runs of one batch size reuse
  the first one's program);
* the results are finite on a small problem and no run diverges.
"""

import jax
import numpy as np
import pytest
from helpers import FAMILIES, SCALARS

import implicit_bias as ib
from implicit_bias.app.build import build_experiment
from implicit_bias.app.compose import compose
from implicit_bias.app.schema import group_options
from implicit_bias.compilations import count_compilations

CASES = [(group, case) for group, cases in FAMILIES.items() for case in cases]
IDS = [f"{group}={case.name}" for group, case in CASES]


def _unique_experiments():
    """The distinct experiments of all cases (the default problem serves many members)."""
    seen: dict[str, tuple] = {}
    for group, case in CASES:
        exp = case.experiment(group)
        entry = seen.setdefault(repr(exp), (exp, case.scalars, []))
        entry[2].append(f"{group}={case.name}")
    return list(seen.values())


EXPERIMENTS = _unique_experiments()


def test_every_option_of_conf_is_under_test():
    """Adding a member means its line in tests/helpers.py: the lists name exactly the options."""
    for group, cases in FAMILIES.items():
        assert sorted(c.name for c in cases) == sorted(group_options(group)), group


@pytest.mark.parametrize(("group", "case"), CASES, ids=IDS)
def test_config_option_builds_into_its_class(group, case):
    exp = build_experiment(compose([f"{group}={case.name}", *case.overrides]))
    built = getattr(exp, group)
    if group == "sharpness":
        assert built.method == case.member.method
    else:
        assert type(built) is type(case.member)


@pytest.mark.parametrize(
    ("exp", "scalars", "members"), EXPERIMENTS, ids=[" ".join(e[2]) for e in EXPERIMENTS]
)
def test_batch_equals_one_by_one_without_recompiling(exp, scalars, members):
    del members
    sc = {**SCALARS, **scalars}
    batch = ib.run_batch(exp, progress=False, **sc)
    with count_compilations("_simulate") as compiles:
        singles = [
            ib.run_batch(exp, progress=False, **{k: v[i : i + 1] for k, v in sc.items()})[0]
            for i in range(4)
        ]
    # One program for the batch size 1; lr, init scale and seed are traced.
    assert compiles.count == 1, compiles.names
    for i, single in enumerate(singles):
        for a, b in zip(jax.tree.leaves(batch[i]), jax.tree.leaves(single), strict=True):
            # float64; rtol 1e-8 covers XLA's batch-size-dependent summation order (measured
            # differences ~1e-13), atol for entries that are ~0.
            np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-8, atol=1e-10)
    final_loss = np.asarray(batch.final["train_loss"])
    assert np.isfinite(final_loss).all()
    assert "diverged" not in batch.status_names()
