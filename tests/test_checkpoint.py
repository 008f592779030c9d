"""Checkpoints (issue 12, item 2): a batch resumed from a checkpoint ends bit-identical to an
uninterrupted one (float32 and float64, GD and SGD); a corrupt or foreign checkpoint is
detected and not used; an interrupt stops a batch within about one program call, saving it.

The command line's kill-and-resume tests (SIGINT, SIGTERM, SIGKILL) are in
``tests/test_interrupts.py``.
"""

import signal
import threading
import time

import jax
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias import checkpoint as checkpoint_io
from implicit_bias import engine

jax.config.update("jax_enable_x64", True)


def _experiment(dtype: str, integrator) -> ib.Experiment:
    return ib.Experiment(
        model=ib.DeepLinear(input_dim=5, width=4, depth=3),
        data=ib.GaussianRegression(n=20, d=5),
        init=ib.Gaussian(),
        integrator=integrator,
        sharpness=ib.SharpnessSpec(method="lanczos", track=True),
        record=ib.Schedule(num=7),
        dtype=dtype,
    )


_SCALARS = {"seed": np.arange(3), "init_scale": 0.5, "lr": np.array([0.02, 0.05, 5.0])}
_STEPS = 300


def _same(a, b) -> None:
    """Every leaf of two results equal, bit for bit (NaN where NaN)."""
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _parts(res: ib.Result):
    return (res.params, res.records, res.final, res.initial, res.status, res.reached)


_CASES = [
    ("float32", ib.GD()),
    ("float64", ib.GD()),
    ("float32", ib.SGD(batch_size=5)),
    ("float64", ib.SGD(batch_size=5)),
]


@pytest.mark.parametrize(("dtype", "integrator"), _CASES, ids=lambda x: str(x)[:12])
def test_a_batch_resumed_from_a_checkpoint_is_bit_identical(tmp_path, dtype, integrator):
    """Run to step 137 (between record points), save, load into a fresh host loop (as a new
    process would), finish: every parameter, record, status equal to the uninterrupted run.
    The batch has a diverging run (lr 5), so the divergence flags go through the file too."""
    exp = _experiment(dtype, integrator)
    scalars = ib.Scalars.make(dtype=dtype, steps=_STEPS, **_SCALARS)
    whole = ib.run_batch(exp, scalars)
    devices = engine._devices(1)
    first = engine._BatchRun(exp, scalars, devices)
    first.start()
    first.advance(137)
    path = tmp_path / "ckpt.npz"
    checkpoint_io.save(path, first.carry, first.position, first.fingerprint())
    second = engine._BatchRun(exp, scalars, devices)
    loaded = checkpoint_io.load(path, second.struct, second.fingerprint())
    assert loaded is not None and loaded[1] == 137
    second.resume(*loaded)
    second.advance(200)
    second.advance(_STEPS)
    resumed = second.result(scalars.batch_size)
    _same(_parts(resumed), _parts(whole))
    assert "diverged" in resumed.status_names()


def test_a_corrupt_or_foreign_checkpoint_is_not_used(tmp_path, caplog):
    """A flipped byte in a leaf (digest), a truncated file, a checkpoint of other scalars: each
    is reported and the batch starts from step 0, with the uninterrupted result."""
    exp = _experiment("float64", ib.GD())
    scalars = ib.Scalars.make(dtype="float64", steps=_STEPS, **_SCALARS)
    whole = ib.run_batch(exp, scalars)
    run = engine._BatchRun(exp, scalars, engine._devices(1))
    run.start()
    run.advance(100)
    good = tmp_path / "good.npz"
    checkpoint_io.save(good, run.carry, run.position, run.fingerprint())
    raw = good.read_bytes()

    # A flipped byte inside an array: the zip is readable, the digest is not the saved one.
    with np.load(good) as f:
        leaf = f["leaf_00003"].tobytes()
    at = raw.index(leaf[:16]) + 3
    flipped = tmp_path / "flipped.npz"
    flipped.write_bytes(raw[:at] + bytes([raw[at] ^ 0xFF]) + raw[at + 1 :])
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(raw[: len(raw) // 2])
    other = ib.Scalars.make(dtype="float64", steps=_STEPS, **{**_SCALARS, "init_scale": 0.4})
    foreign = engine._BatchRun(exp, other, engine._devices(1)).fingerprint()
    assert foreign != run.fingerprint()

    cases = {flipped: "corrupt", truncated: "unreadable"}
    for path, word in cases.items():
        caplog.clear()
        assert checkpoint_io.load(path, run.struct, run.fingerprint()) is None
        assert word in caplog.text
        res = ib.run_batch(exp, scalars, checkpoint=path)
        _same(_parts(res), _parts(whole))
        assert not path.exists()  # done: the checkpoint is deleted
    caplog.clear()
    assert checkpoint_io.load(good, run.struct, foreign) is None
    assert "another experiment" in caplog.text


def _swallowed(signum, frame):
    """A SIGINT handler whose KeyboardInterrupt never arrives: what happens when Python runs
    the handler inside a garbage-collector callback ("Exception ignored in ...")."""


@pytest.mark.parametrize(
    "handler", [signal.default_int_handler, _swallowed], ids=["raising", "swallowed"]
)
def test_an_interrupt_stops_the_batch_within_a_call_and_saves_it(tmp_path, monkeypatch, handler):
    """A SIGINT to this process in the middle of a batch: ``Interrupted`` within a few
    seconds, with the position and the checkpoint saved there (resuming from such a file is
    bit-identical: the test above); also when the handler's KeyboardInterrupt is lost (seen in
    CI: raised in JAX's gc callback, where Python drops it). The batch is far too long to
    finish before the interrupt."""
    previous = signal.signal(signal.SIGINT, handler)
    try:
        _interrupt_a_long_batch(tmp_path, monkeypatch)
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupt_a_long_batch(tmp_path, monkeypatch):
    exp = _experiment("float64", ib.GD())
    kw = {**_SCALARS, "lr": np.array([0.02, 0.05, 0.01])}
    steps = 100_000_000
    scalars = ib.Scalars.make(dtype="float64", steps=steps, **kw)
    path = tmp_path / "ckpt.npz"
    running = threading.Event()
    advance = engine._BatchRun.advance

    def advance_and_tell(self, stop):
        running.set()
        return advance(self, stop)

    monkeypatch.setattr(engine._BatchRun, "advance", advance_and_tell)
    sent = []

    def interrupt_when_running():
        running.wait(600)  # the program compiled and the batch is stepping
        time.sleep(0.3)
        sent.append(time.perf_counter())
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    threading.Thread(target=interrupt_when_running, daemon=True).start()
    with pytest.raises(ib.Interrupted) as info:
        ib.run_batch(exp, scalars, checkpoint=ib.Checkpoint(path, every_seconds=float("inf")))
    # One program call is sized to CHUNK_SECONDS (0.5 s), the first to PROBE_STEPS; the save
    # is a few kB.
    assert time.perf_counter() - sent[0] < 5.0  # the bound of issue 17
    exc = info.value
    assert exc.phase == "running" and 0 < exc.position < steps and exc.checkpoint == path
    run = engine._BatchRun(exp, scalars, engine._devices(1))
    loaded = checkpoint_io.load(path, run.struct, run.fingerprint())
    assert loaded is not None and loaded[1] == exc.position
