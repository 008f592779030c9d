"""GaussianRegression(condition_number=kappa): inputs with a prescribed empirical spectrum."""

import jax
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.errors import ConfigError

jax.config.update("jax_enable_x64", True)


def _sample(gen, seed=0):
    return jax.jit(lambda k: gen.sample(k, "float64"))(jax.random.key(seed))


@pytest.mark.parametrize("kappa", [1.0, 7.5, 100.0])
def test_empirical_covariance_has_the_prescribed_spectrum(kappa):
    """X^T X / n = V diag(lambda) V^T exactly (float64 rounding, 1e-12): eigenvalues
    geometrically spaced with ratio kappa and mean 1; w* is still the least-squares solution
    of unit norm."""
    gen = ib.GaussianRegression(n=40, d=6, sigma=0.5, condition_number=kappa)
    ds = _sample(gen)
    X, y, w = (np.asarray(a) for a in (ds.X, ds.y, ds.w_star))
    eig = np.linalg.eigvalsh(X.T @ X / 40)[::-1]
    np.testing.assert_allclose(eig, gen.spectrum(), rtol=1e-12)
    assert eig[0] / eig[-1] == pytest.approx(kappa, rel=1e-12)
    assert eig.mean() == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(np.diff(np.log(eig)), -np.log(kappa) / 5, atol=1e-12)
    np.testing.assert_allclose(w, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10)
    assert np.linalg.norm(w) == pytest.approx(1.0, rel=1e-12)


def test_eigenbasis_is_random_and_test_inputs_share_the_covariance():
    """Two seeds give different eigenbases (the basis is drawn, not the identity); the test
    inputs are N(0, Sigma): their empirical covariance over many samples approaches Sigma
    (tolerance 5 standard errors of a 4000-sample covariance)."""
    gen = ib.GaussianRegression(n=20, d=4, n_test=4000, condition_number=10.0)
    a, b = _sample(gen, 0), _sample(gen, 1)
    Sa = np.asarray(a.X.T @ a.X / 20)
    Sb = np.asarray(b.X.T @ b.X / 20)
    assert np.abs(Sa - Sb).max() > 0.1
    assert np.abs(Sa - np.diag(np.diag(Sa))).max() > 0.05
    Xt = np.asarray(a.X_test)
    emp = Xt.T @ Xt / 4000
    se = np.sqrt((np.diag(Sa)[:, None] * np.diag(Sa)[None, :] + Sa**2) / 4000)
    assert np.all(np.abs(emp - Sa) <= 5 * se)


def test_default_draws_unchanged_and_bad_values_rejected():
    """Without condition_number the generator draws exactly what it drew before the option
    existed (same key -> same arrays); kappa < 1 and n < d are config errors naming the key."""
    plain = _sample(ib.GaussianRegression(n=30, d=5))
    again = _sample(ib.GaussianRegression(n=30, d=5, condition_number=None))
    np.testing.assert_array_equal(np.asarray(plain.X), np.asarray(again.X))
    z = jax.random.normal(jax.random.key(0), (30 * 5 + 30 * 5 + 5 + 30 + 30,), "float32")
    np.testing.assert_allclose(np.asarray(plain.X).ravel(), z[:150], rtol=1e-7)
    with pytest.raises(ConfigError, match=r"data\.condition_number"):
        ib.GaussianRegression(condition_number=0.5)
    with pytest.raises(ConfigError, match=r"data\.condition_number"):
        ib.GaussianRegression(n=3, d=5, condition_number=2.0)
