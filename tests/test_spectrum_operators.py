"""The matrix-free operators against their explicit formulas, in float64.

* Hessian: ``jax.hessian``.
* Generalized Gauss-Newton: ``J^T H_out J`` with ``J = jax.jacobian(outputs)`` and
  ``H_out = jax.hessian(output_loss)``, for the square loss (deep linear net), the logistic loss
  and the softmax cross-entropy (a small tanh MLP with 3 logits).
* Preconditioned: ``P^{-1/2} H P^{-1/2}``, whose eigenvalues are those of ``P^{-1} H``.
* Block: the rows and columns of the selected parameters.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree
from test_sharpness import _dense_hessian_and_grad_norm, _loss, _points

from implicit_bias.sharpness import (
    Block,
    GaussNewton,
    Hessian,
    Preconditioned,
    cross_entropy_output_loss,
    eigenpairs,
    logistic_output_loss,
    square_output_loss,
    topk,
)

jax.config.update("jax_enable_x64", True)


def _outputs(params, X):
    h = X.T
    for k in range(1, len(params) + 1):
        h = params[f"W{k}"] @ h
    return h[0]


@functools.cache
def _mlp_problem():
    """A 4 -> 6 -> 3 tanh network on 20 points with integer labels (48 parameters)."""
    rng = np.random.default_rng(0)
    params = {
        "W1": rng.standard_normal((6, 4)) / 2,
        "b1": 0.1 * rng.standard_normal(6),
        "W2": rng.standard_normal((3, 6)) / 2,
    }
    X = rng.standard_normal((20, 4))
    labels = rng.integers(0, 3, 20)
    return jax.tree.map(jnp.asarray, (params, X, labels))


def _mlp_logits(params, X):
    return jnp.tanh(X @ params["W1"].T + params["b1"]) @ params["W2"].T


def _explicit_ggn(output_fn, params, output_loss):
    flat, unravel = ravel_pytree(params)
    out = output_fn(unravel(flat))
    jac = jax.jacobian(lambda q: output_fn(unravel(q)).ravel())(flat)  # (q, p)
    h_out = jax.hessian(lambda o: output_loss(o.reshape(out.shape)))(out.ravel())  # (q, q)
    return np.asarray(jac.T @ h_out @ jac)


def test_hessian_operator_is_the_dense_hessian():
    params, X, y = _points()["generic_init"]
    hess = np.asarray(_dense_hessian_and_grad_norm(params, X, y)[0])
    dense = jax.jit(lambda p: Hessian(lambda q: _loss(q, X, y), p).as_dense())(params)
    np.testing.assert_allclose(dense, hess, rtol=1e-10, atol=1e-12 * np.abs(hess).max())


@pytest.mark.parametrize("loss", ["square", "logistic", "cross_entropy"])
def test_gauss_newton_equals_explicit_jacobian_formula(loss):
    if loss == "cross_entropy":
        params, X, labels = _mlp_problem()
        out_fn = functools.partial(_mlp_logits, X=X)
        out_loss = cross_entropy_output_loss(labels)
    else:
        params, X, y = _points()["generic_init"]
        out_fn = functools.partial(_outputs, X=X)
        out_loss = square_output_loss(y) if loss == "square" else logistic_output_loss(jnp.sign(y))
    ggn = jax.jit(lambda p: GaussNewton(out_fn, p, out_loss).as_dense())(params)
    ggn = np.asarray(ggn)
    ref = _explicit_ggn(out_fn, params, out_loss)
    np.testing.assert_allclose(ggn, ref, rtol=1e-9, atol=1e-12 * np.abs(ref).max())
    np.testing.assert_allclose(ggn, ggn.T, atol=1e-12 * np.abs(ref).max())
    evals = np.linalg.eigvalsh(0.5 * (ggn + ggn.T))
    assert evals[0] >= -1e-12 * evals[-1]  # PSD: the losses are convex in the outputs


def test_gauss_newton_top_eigenpairs_and_square_loss_closed_form():
    params, X, y = _points()["generic_init"]
    out_fn = functools.partial(_outputs, X=X)
    ref = _explicit_ggn(out_fn, params, square_output_loss(y))
    # Square loss: H_out = (2/n) I, so G = (2/n) J^T J.
    flat, unravel = ravel_pytree(params)
    j = np.asarray(jax.jacobian(lambda q: out_fn(unravel(q)))(flat))
    np.testing.assert_allclose(ref, 2 / X.shape[0] * j.T @ j, rtol=1e-9, atol=1e-12 * ref.max())
    evals = np.linalg.eigvalsh(ref)
    top = jax.jit(lambda p, k: topk(GaussNewton(out_fn, p, square_output_loss(y)), k, 3))(
        params, jax.random.key(0)
    )
    np.testing.assert_allclose(top.eigenvalues, evals[::-1][:3], rtol=1e-6)
    assert np.all(np.abs(np.asarray(top.eigenvalues) - evals[::-1][:3]) <= top.error_bounds)


def test_gauss_newton_equals_hessian_where_the_residual_term_vanishes():
    """At near_tie_min the residuals r are orthogonal to the columns of X and f is linear in
    x, so sum_i r_i f(x_i) = w(theta) . X^T r = 0 for every theta: the residual term
    (2/n) sum_i r_i Hess f(x_i) vanishes and G = H."""
    params, X, y = _points()["near_tie_min"]
    hess = np.asarray(_dense_hessian_and_grad_norm(params, X, y)[0])
    out_fn = functools.partial(_outputs, X=X)
    ggn = np.asarray(
        jax.jit(lambda p: GaussNewton(out_fn, p, square_output_loss(y)).as_dense())(params)
    )
    np.testing.assert_allclose(ggn, hess, atol=1e-10 * np.abs(hess).max())


def test_preconditioned_hessian_has_the_eigenvalues_of_p_inverse_h():
    params, X, y = _points()["generic_init"]
    hess = np.asarray(_dense_hessian_and_grad_norm(params, X, y)[0])
    flat = ravel_pytree(params)[0]
    diag = jax.tree.map(lambda a: 0.5 + jnp.abs(a), params)  # a pytree, like Adam's sqrt(nu)
    d = np.asarray(ravel_pytree(diag)[0])
    ref = np.sort(np.linalg.eigvals(hess / d[:, None]).real)

    @jax.jit
    def run(p, key):
        op = Preconditioned(Hessian(lambda q: _loss(q, X, y), p), diag)
        return op.as_dense(), eigenpairs(op, key, top=2, bottom=2)

    dense, (top, bottom) = run(params, jax.random.key(0))
    np.testing.assert_allclose(
        np.asarray(dense), hess / np.sqrt(np.outer(d, d)), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(top.eigenvalues, ref[::-1][:2], rtol=1e-6)
    np.testing.assert_allclose(bottom.eigenvalues, ref[:2], rtol=1e-6)
    with pytest.raises(ValueError, match="diag has 3 entries but the operator has dimension"):
        Preconditioned(Hessian(lambda q: _loss(q, X, y), params), jnp.ones(3))
    assert flat.shape == d.shape


def test_block_is_the_diagonal_block_of_the_selected_parameters():
    params, X, y = _points()["generic_init"]
    hess = np.asarray(_dense_hessian_and_grad_norm(params, X, y)[0])
    sizes = [int(np.prod(a.shape)) for a in jax.tree.leaves(params)]
    starts = np.cumsum([0, *sizes])
    names = list(params)
    leaf_names = sorted(params)  # jax flattens dicts in sorted key order: W1, W10, W2, ...
    idx = {n: np.arange(starts[i], starts[i + 1]) for i, n in enumerate(leaf_names)}
    sel = np.concatenate([idx["W1"], idx["W10"]])
    ref = hess[np.ix_(sel, sel)]
    mask = {n: n in ("W1", "W10") for n in names}

    @jax.jit
    def run(p, key):
        full = Hessian(lambda q: _loss(q, X, y), p)
        by_name, by_mask = Block(full, p, ["W1", "W10"]), Block(full, p, mask)
        return by_name.as_dense(), by_mask.as_dense(), topk(by_name, key, 2)

    by_name, by_mask, top = run(params, jax.random.key(0))
    np.testing.assert_allclose(by_name, ref, rtol=1e-10, atol=1e-12 * np.abs(hess).max())
    np.testing.assert_allclose(by_mask, by_name)
    block_evals = np.linalg.eigvalsh(ref)
    np.testing.assert_allclose(top.eigenvalues, block_evals[::-1][:2], rtol=1e-6)
    # Cauchy interlacing: the block's spectrum lies inside the full one.
    full = np.linalg.eigvalsh(hess)
    assert full[0] - 1e-10 <= block_evals[0] and block_evals[-1] <= full[-1] + 1e-10
    op = Hessian(lambda q: _loss(q, X, y), params)
    with pytest.raises(ValueError, match=r"select names \['W99'\] are not parameters"):
        Block(op, params, ["W99"])
    with pytest.raises(ValueError, match="select selects no parameter"):
        Block(op, params, {n: False for n in names})
