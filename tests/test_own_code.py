"""Your own code: a model from a package of your own, named in a config by ``_target_`` once the
package is in the allow-list (``allowed_packages: [mypkg]``); the default still refuses it.

The package is written to a temporary folder (the worked example of ``docs/extending.md``: a
two-layer network with a squared activation) and its config to a config folder of the user's
(``hydra.searchpath``). The run's final loss and sharpness are checked against the user's
model evaluated independently: numpy for the loss, ``jax.hessian`` + ``eigvalsh`` in float64
for the sharpness (the run's ``sharpness=exact`` is that same dense eigendecomposition, so the
two agree to rounding: relative 1e-10 on a Hessian of 32 parameters).
"""

import json
import shlex
import textwrap

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest
from test_errors import run_cli

MODEL = '''
import jax.numpy as jnp
from implicit_bias.models import AbstractModel


class QuadNet(AbstractModel):
    """f(x) = sum_j a_j (w_j . x)^2 / width: a two-layer network, squared activation."""

    input_dim: int = 3
    width: int = 8

    def param_shapes(self):
        return {"W": (self.width, self.input_dim), "a": (self.width,)}

    def apply(self, params, x):
        return (x @ params["W"].T) ** 2 @ params["a"] / self.width
'''


@pytest.fixture
def user(tmp_path, monkeypatch):
    """``mypkg_ib`` (importable) and its config folder ``conf/model/quad.yaml``."""
    pkg = tmp_path / "src" / "mypkg_ib"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(MODEL))
    conf = tmp_path / "conf" / "model"
    conf.mkdir(parents=True)
    (conf / "quad.yaml").write_text("_target_: mypkg_ib.QuadNet\ninput_dim: null\nwidth: 8\n")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    return tmp_path


def _args(user, extra: str) -> list[str]:
    base = f"model=quad hydra.searchpath=[file://{user / 'conf'}] data.d=4 data.n=10 "
    base += "steps=200 lr=0.05 dtype=float64 sharpness=exact "
    return shlex.split(base + extra)


def test_default_refuses_a_target_outside_implicit_bias(user, tmp_path):
    code, err = run_cli(_args(user, ""), tmp_path / "refused")
    assert code == 2
    assert err.strip() == (
        "Error: model._target_='mypkg_ib.QuadNet' is invalid: a class or function of the "
        "implicit_bias package, or of a package listed in allowed_packages (to allow it: "
        "allowed_packages=[mypkg_ib])"
    )
    assert not (tmp_path / "refused").exists()
    # The allow-list allows that package only.
    code, err = run_cli(
        shlex.split("model._target_=os.system allowed_packages=[mypkg_ib]"), tmp_path / "os"
    )
    assert code == 2 and "allowed_packages=[os]" in err


def test_allowed_package_runs_with_every_engine_feature(user, tmp_path):
    out = tmp_path / "run"
    code, err = run_cli(_args(user, "allowed_packages=[mypkg_ib]"), out)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    params = dict(np.load(out / "params.npz"))
    data = np.load(out / "data.npz")
    X, y = data["X"], data["y"]
    W, a = params["W"], params["a"]
    assert W.shape == (8, 4)  # input_dim: null, filled in from the data

    def loss(p):
        f = (X @ p["W"].T) ** 2 @ p["a"] / 8
        return jnp.mean((f - y) ** 2)

    pred = (X @ W.T) ** 2 @ a / 8
    assert metrics["final_train_loss"] == pytest.approx(np.mean((pred - y) ** 2), rel=1e-12)
    flat, unravel = jax.flatten_util.ravel_pytree({"W": jnp.asarray(W), "a": jnp.asarray(a)})
    H = jax.hessian(lambda v: loss(unravel(v)))(flat)
    top = float(np.linalg.eigvalsh(np.asarray(H))[-1])
    assert metrics["final_sharpness"] == pytest.approx(top, rel=1e-10)
    assert (out / "plots" / "sharpness.png").exists()
