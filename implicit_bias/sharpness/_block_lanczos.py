r"""Block Lanczos with full re-orthogonalization and thick restarts (block Krylov-Schur).

The engine of :func:`~implicit_bias.sharpness.eigenpairs`. Notation: :math:`A` symmetric of
dimension :math:`p`, block size :math:`b`, basis capacity :math:`m` (a multiple of :math:`b`).

**One cycle** (Golub & Underwood, 1977, *The block Lanczos method for computing eigenvalues*;
Golub & Van Loan, *Matrix Computations*, 4th ed., §10.3.6). From orthonormal rows
:math:`X_0` build :math:`V = [X_0; X_1; \dots]` block by block: multiply the last block,
:math:`W = A X_j` (``b`` products at once, one ``vmap``), orthogonalize :math:`W` against every
row of :math:`V` (two Gram-Schmidt passes, "twice is enough": Giraud, Langou & Rozložník,
2005) and orthonormalize the remainder column by column into :math:`X_{j+1}`. All coefficients
are kept, so :math:`T = \operatorname{sym}(V^\top A V)` is the full projected matrix (block
tridiagonal up to rounding) and Rayleigh-Ritz on it gives Ritz pairs
:math:`(\theta_i, y_i = V^\top s_i)`. A block of size :math:`b` finds eigenvalues of
multiplicity up to :math:`b` (a single vector only ever sees one vector of an eigenspace), and
the ``b`` products of a step run as matrix-matrix work.

**Breakdown.** A remainder column of norm :math:`\le \sqrt{\epsilon}\,\|A\|_{\text{seen}}`
(a rank-deficient Hessian exhausts its Krylov space after a few blocks) is not normalized: it
is replaced by a fresh direction (a sign-flipped copy of one random vector) orthogonalized against
:math:`V`, with a zero coupling in :math:`T`; once all of :math:`\mathbb{R}^p` is spanned the
row stays zero and Rayleigh-Ritz ignores it (zero rows are moved out of the spectrum's way by a
diagonal shift beyond the Gershgorin bound of :math:`T`).

**Thick restart** (Wu & Simon, 2000, *Thick-restart Lanczos method for large symmetric
eigenvalue problems*, SIMAX 22; Stewart, 2001, *A Krylov-Schur algorithm for large
eigenproblems*; Zhou & Saad, 2008, for the block version). When :math:`V` is full, keep the
``l`` wanted Ritz vectors :math:`Y` (plus extras) and the pending block :math:`X_{next}`
(orthogonal to :math:`V`); since :math:`A V = V T + X_{next} B E^\top` up to rounding, the new
projected matrix is :math:`\begin{pmatrix}\Theta & (B E^\top S)^\top \\ B E^\top S & \cdot
\end{pmatrix}` and the cycle goes on from :math:`X_{next}`. Memory stays :math:`(m + b)\,p`
while the number of products grows; a ``lax.while_loop`` stops as soon as every wanted pair's
Lanczos residual :math:`\|B E^\top s_i\|` is within tolerance, so a warm start that is already
converged costs one cycle.

**Certificate.** The Lanczos residuals steer the restarts, but what is reported is computed
explicitly: one more product per returned pair, :math:`r_i = A y_i - \rho_i y_i` with the
Rayleigh quotient :math:`\rho_i = y_i^\top A y_i` of the unit Ritz vector. Then :math:`A` has
an eigenvalue within :math:`\|r_i\|` of :math:`\rho_i` (Parlett, *The Symmetric Eigenvalue
Problem*, Thm 4.5.1), whatever happened before (lost orthogonality, breakdowns, restarts); and
for the returned set, eigenvalues :math:`\alpha_1..\alpha_k` of :math:`A` can be matched
one-to-one with :math:`|\rho_i - \alpha_i| \le \|R\|_2` (Kahan's theorem, Parlett Thm 11.5.1),
so a cluster cannot be reported by converging the same eigenvalue twice.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Bool, Float, Int

from ._tridiag import fresh_directions, safe_div


class Plan(NamedTuple):
    """Static sizes of a run (all Python ints), fixed before tracing."""

    top: int  # wanted pairs at the top
    bottom: int  # wanted pairs at the bottom
    block: int  # b
    capacity: int  # m, a multiple of b
    keep_top: int  # Ritz vectors kept at a restart (>= top)
    keep_bottom: int
    restarts: int  # maximum number of restarts (0: one cycle)

    @property
    def first_steps(self) -> int:
        return self.capacity // self.block

    @property
    def restart_steps(self) -> int:
        return (self.capacity - self.keep_top - self.keep_bottom) // self.block

    def max_products(self) -> int:
        return (
            self.capacity + self.restarts * self.restart_steps * self.block + self.top + self.bottom
        )


def make_plan(
    p: int, top: int, bottom: int, block: int | None, capacity: int | None, restarts: int
) -> Plan:
    """Validate the sizes and choose defaults (see :func:`~implicit_bias.sharpness.eigenpairs`)."""
    if top < 0 or bottom < 0 or top + bottom < 1:
        raise ValueError(f"top={top!r}, bottom={bottom!r} are invalid: integers >= 0, sum >= 1")
    if top + bottom > p:
        raise ValueError(f"top + bottom = {top + bottom} is invalid: at most the dimension {p}")
    if restarts < 0:
        raise ValueError(f"max_restarts={restarts!r} is invalid: an integer >= 0")
    b = max(top, bottom) if block is None else block
    if not 1 <= b <= p:
        raise ValueError(f"block_size={b!r} is invalid: an integer in [1, {p}]")
    want = top + bottom
    m = max(40, 4 * want + b) if capacity is None else capacity
    if m < want:
        raise ValueError(f"krylov_dim={m!r} is invalid: at least top + bottom = {want}")
    m = -(-m // b) * b  # round up to whole blocks
    if m >= p:
        # The basis spans all of R^p in one cycle (rows past p stay zero): exact, no restart.
        return Plan(top, bottom, b, -(-p // b) * b, top, bottom, 0)
    # Keep the wanted pairs plus half the remaining room (Wu & Simon's rule of thumb), rounded
    # to whole blocks so that every cycle refills exactly the capacity m.
    keep = want + max(0, (m - b - want) // 2)
    keep = min(-(-keep // b) * b, m - b)
    if keep < want:
        return Plan(top, bottom, b, m, top, bottom, 0)  # no room to restart
    extra = keep - want
    if top and bottom:
        keep_top, keep_bottom = top + extra - extra // 2, bottom + extra // 2
    elif top:
        keep_top, keep_bottom = keep, 0
    else:
        keep_top, keep_bottom = 0, keep
    return Plan(top, bottom, b, m, keep_top, keep_bottom, restarts)


class _State(NamedTuple):
    basis: Float[Array, "rows p"]  # rows [0, m) the basis, [m, m + b) the pending block
    coef: Float[Array, "rows rows"]  # Arnoldi coefficients (column j: of A v_j on the rows)
    anorm: Float[Array, ""]
    theta: Float[Array, " m"]
    vecs: Float[Array, "m m"]
    count: Int[Array, ""]  # restarts done
    products: Int[Array, ""]
    done: Bool[Array, ""]


def _orthonormal_block(w: Array, fresh: Array, anorm: Array) -> tuple[Array, Array, Array]:
    """Orthonormalize the rows of ``w`` among themselves, with breakdowns.

    ``w`` is already orthogonal to the basis; ``fresh`` holds unit replacement rows, also
    orthogonal to the basis (or zero once the space is exhausted). Returns the new rows ``q``
    (unit, or zero once the space is exhausted), the upper triangular ``r`` with
    ``w = r.T @ q`` on the kept columns (zero columns at breakdowns) and the breakdown flags.
    """
    b = w.shape[0]
    rtol = float(jnp.finfo(w.dtype).eps) ** 0.5

    def column(c, carry):
        q, r, broke = carry
        x = w[c]
        h1 = q @ x
        x = x - h1 @ q
        h2 = q @ x
        x = x - h2 @ q
        n = jnp.linalg.norm(x)
        brk = n <= rtol * anorm
        f = fresh[c]
        f = f - (q @ f) @ q
        f = f - (q @ f) @ q
        nf = jnp.linalg.norm(f)
        f = jnp.where(nf > rtol, f / jnp.where(nf > rtol, nf, 1.0), 0.0)
        q = q.at[c].set(jnp.where(brk, f, safe_div(x, n)))
        r = r.at[:, c].set((h1 + h2).at[c].set(jnp.where(brk, 0.0, n)))
        return q, r, broke.at[c].set(brk)

    init = (jnp.zeros_like(w), jnp.zeros((b, b), w.dtype), jnp.zeros(b, bool))
    return lax.fori_loop(0, b, column, init)


def _unit_rows(x: Array) -> Array:
    """Rows scaled to unit norm; zero rows stay zero."""
    return safe_div(x, jnp.linalg.norm(x, axis=1, keepdims=True))


def _project_out(basis: Array, w: Array) -> tuple[Array, Array]:
    """Two block Gram-Schmidt passes of the rows of ``w`` against the rows of ``basis``."""
    c1 = basis @ w.T
    w = w - c1.T @ basis
    c2 = basis @ w.T
    w = w - c2.T @ basis
    return w, c1 + c2


def _unit_rows_or_zero(x: Array, scale: Array) -> Array:
    """Rows scaled to unit norm; rows below ``sqrt(eps) * scale`` (in the span) become zero."""
    rtol = float(jnp.finfo(x.dtype).eps) ** 0.5
    norms = jnp.linalg.norm(x, axis=1, keepdims=True)
    return jnp.where(norms > rtol * scale, x / jnp.where(norms > 0, norms, 1.0), 0.0)


def _extend(
    matmat: Callable[[Array], Array],
    basis: Array,
    coef: Array,
    anorm: Array,
    restart: Array,
    start: int,
    steps: int,
    b: int,
    salt: Array,
) -> tuple[Array, Array, Array]:
    """``steps`` block steps: multiply rows ``[s, s + b)``, append rows ``[s + b, s + 2b)``."""
    p, dtype = basis.shape[1], basis.dtype

    def step(carry, j):
        basis, coef, anorm = carry
        s = start + j * b
        x = lax.dynamic_slice(basis, (s, 0), (b, p))
        w = matmat(x)
        anorm = jnp.maximum(anorm, jnp.max(jnp.linalg.norm(w, axis=1)))
        # Block classical Gram-Schmidt twice with an intra-block QR after each pass (BCGS2:
        # Barlow & Smoktunowicz, 2013): the basis is read four times per step, which is what
        # a large model with cheap products spends its time on. The products and the fresh
        # breakdown candidates share the first pass.
        fresh = fresh_directions(restart, (salt + j) * b + jnp.arange(b))
        both = jnp.concatenate([w, fresh])
        c1 = basis @ both.T  # coefficients on every filled row (rows past s + b are zero)
        both = both - c1.T @ basis
        fresh = _unit_rows_or_zero(both[b:], jnp.linalg.norm(restart))
        q1, r1, _ = _orthonormal_block(both[:b], fresh, anorm)
        c2 = basis @ q1.T
        q, r2, _ = _orthonormal_block(q1 - c2.T @ basis, jnp.zeros_like(q1), jnp.ones((), dtype))
        # w = c1^T V + r1^T q1 and q1 = c2^T V + r2^T q: coefficients c1 + c2 r1 on V, r2 r1 on q.
        coef = lax.dynamic_update_slice(coef, c1[:, :b] + c2 @ r1, (0, s))
        coef = lax.dynamic_update_slice(coef, r2 @ r1, (s + b, s))
        basis = lax.dynamic_update_slice(basis, q, (s + b, 0))
        return (basis, coef, anorm), None

    (basis, coef, anorm), _ = lax.scan(step, (basis, coef, anorm), jnp.arange(steps))
    return basis, coef, anorm


def _rayleigh_ritz(basis: Array, coef: Array, m: int) -> tuple[Array, Array, Array]:
    """Ritz values (ascending, invalid rows last) and vectors of the first ``m`` rows.

    Returns ``theta``, ``vecs`` (columns) and the number of valid (nonzero) rows.
    """
    t = coef[:m, :m]
    t = 0.5 * (t + t.T)
    valid = jnp.linalg.norm(basis[:m], axis=1) > 0.5
    # Beyond the Gershgorin bound: zero rows (decoupled in T) become the largest Ritz values.
    big = 2.0 * jnp.max(jnp.sum(jnp.abs(t), axis=1)) + 1.0
    theta, vecs = jnp.linalg.eigh(t + jnp.diag(jnp.where(valid, 0.0, big)))
    return theta, vecs, jnp.sum(valid)


def _select(n_valid: Array, top: int, bottom: int) -> Array:
    """Indices of the ``bottom`` smallest then the ``top`` largest valid Ritz values."""
    return jnp.concatenate([jnp.arange(bottom), n_valid - top + jnp.arange(top)])


class Raw(NamedTuple):
    """Wanted Ritz pairs: bottom ones (ascending) then top ones (ascending)."""

    values: Float[Array, " w"]
    vectors: Float[Array, "w p"]
    residuals: Float[Array, " w"]  # explicit ||A y - rho y||
    anorm: Float[Array, ""]
    scale: Float[Array, ""]  # max |Ritz value|, the operator's scale
    products: Int[Array, ""]


def block_lanczos(
    matmat: Callable[[Array], Array],
    start: Float[Array, "b p"],
    restart: Float[Array, " p"],
    plan: Plan,
    tol: float,
) -> Raw:
    """Run the plan from the start block (rows; orthonormalized here). See the module doc."""
    b, m = plan.block, plan.capacity
    p = start.shape[1]
    dtype = start.dtype
    rows = m + b
    zero = jnp.zeros((), dtype)

    # Start block: orthonormalize, replacing (near-)dependent rows by fresh directions.
    empty = jnp.zeros((rows, p), dtype)
    norms = jnp.linalg.norm(start, axis=1)
    start_scale = jnp.max(jnp.where(jnp.isfinite(norms), norms, 0.0))
    start = jnp.where(jnp.isfinite(start), start, 0.0)
    fresh0 = _unit_rows_or_zero(fresh_directions(restart, jnp.arange(b)), jnp.linalg.norm(restart))
    x0, _, _ = _orthonormal_block(start, fresh0, start_scale)
    basis = empty.at[:b].set(x0)
    coef = jnp.zeros((rows, rows), dtype)
    basis, coef, anorm = _extend(
        matmat, basis, coef, zero, restart, 0, plan.first_steps, b, jnp.asarray(1)
    )
    theta, vecs, _ = _rayleigh_ritz(basis, coef, m)
    products = jnp.asarray(m, jnp.int32)

    top, bottom = plan.top, plan.bottom

    def residual_estimates(theta, vecs, coef, n_valid):
        # Lanczos residual of each wanted pair: its coupling to the pending block.
        coupling = coef[m : m + b, m - b : m] @ vecs[m - b : m]
        res = jnp.linalg.norm(coupling, axis=0)[_select(n_valid, top, bottom)]
        scale = jnp.max(jnp.abs(jnp.where(jnp.arange(m) < n_valid, theta, 0.0)))
        return jnp.all(res <= tol * scale)

    n_valid0 = jnp.sum(jnp.linalg.norm(basis[:m], axis=1) > 0.5)
    state = _State(
        basis,
        coef,
        anorm,
        theta,
        vecs,
        jnp.asarray(0),
        products,
        residual_estimates(theta, vecs, coef, n_valid0),
    )

    if plan.restarts > 0:
        keep_t, keep_b = plan.keep_top, plan.keep_bottom
        keep = keep_t + keep_b

        def cycle(st: _State) -> _State:
            n_valid = jnp.sum(jnp.linalg.norm(st.basis[:m], axis=1) > 0.5)
            idx = _select(n_valid, keep_t, keep_b)
            s_keep = st.vecs[:, idx]
            y = s_keep.T @ st.basis[:m]
            coupling = st.coef[m : m + b, m - b : m] @ s_keep[m - b :]
            basis = jnp.zeros_like(st.basis).at[:keep].set(y)
            basis = basis.at[keep : keep + b].set(st.basis[m : m + b])
            coef = jnp.zeros_like(st.coef).at[:keep, :keep].set(jnp.diag(st.theta[idx]))
            coef = coef.at[keep : keep + b, :keep].set(coupling)
            coef = coef.at[:keep, keep : keep + b].set(coupling.T)
            basis, coef, anorm = _extend(
                matmat,
                basis,
                coef,
                st.anorm,
                restart,
                keep,
                plan.restart_steps,
                b,
                1 + (st.count + 1) * (plan.first_steps + 1),
            )
            theta, vecs, n_valid = _rayleigh_ritz(basis, coef, m)
            done = residual_estimates(theta, vecs, coef, n_valid)
            products = st.products + plan.restart_steps * b
            return _State(basis, coef, anorm, theta, vecs, st.count + 1, products, done)

        state = lax.while_loop(lambda st: (st.count < plan.restarts) & ~st.done, cycle, state)

    n_valid = jnp.sum(jnp.linalg.norm(state.basis[:m], axis=1) > 0.5)
    idx = _select(n_valid, top, bottom)
    y = state.vecs[:, idx].T @ state.basis[:m]
    y = _unit_rows(y)
    ay = matmat(y)
    rho = jnp.sum(y * ay, axis=1)
    residuals = jnp.linalg.norm(ay - rho[:, None] * y, axis=1)
    anorm = jnp.maximum(state.anorm, jnp.max(jnp.linalg.norm(ay, axis=1)))
    scale = jnp.max(jnp.abs(jnp.where(jnp.arange(m) < n_valid, state.theta, 0.0)))
    return Raw(rho, y, residuals, anorm, scale, state.products + top + bottom)
