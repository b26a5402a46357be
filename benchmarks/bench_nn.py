"""Time one training step of ``minigrad.nn.LSTM`` against a hand-written numpy LSTM, in one run.

The workload (chapter 13): a character-level language model step, batch 32 x 64 steps, input
and hidden size 128, a linear readout to 65 classes and the mean cross-entropy, float32; one
forward pass and one backward pass producing every parameter's gradient. The reference is the
same computation written directly in numpy (fused gates, input projection precomputed), the
fastest plain-numpy version we know. Both use one BLAS thread. The target is a ratio <= 1.3.

If PyTorch is importable, its per-step ``LSTMCell`` loop on the same weights is timed too, for
scale (it is optional and not part of the target).

Run: ``.venv/bin/python benchmarks/bench_nn.py``
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before numpy is imported
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import minigrad  # noqa: E402
from minigrad import functional as F  # noqa: E402
from minigrad import nn  # noqa: E402

BATCH, STEPS, INPUT, HIDDEN, CLASSES = 32, 64, 128, 128, 65
DTYPE = np.float32
REPEATS = 30
TARGET = 1.3


def sigmoid(x: np.ndarray) -> np.ndarray:
    """:math:`\\sigma(x) = (1 + \\tanh(x/2))/2`."""
    return 0.5 * np.tanh(0.5 * x) + 0.5


def numpy_step(x, targets, w_ih, w_hh, b_ih, b_hh, w_out, b_out):
    """Forward and backward of LSTM + linear + mean cross-entropy; returns the loss and all gradients."""
    T, B, _ = x.shape
    H = w_hh.shape[1]
    xproj = (x.reshape(T * B, -1) @ w_ih.T + (b_ih + b_hh)).reshape(T, B, 4 * H)
    h = np.zeros((B, H), DTYPE)
    c = np.zeros((B, H), DTYPE)
    hs = np.empty((T + 1, B, H), DTYPE)
    hs[0] = h
    acts, cs, tanh_cs = [], [c], []
    for t in range(T):
        a = xproj[t] + h @ w_hh.T
        act = sigmoid(a)
        act[:, 2 * H:3 * H] = np.tanh(a[:, 2 * H:3 * H])
        i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        c = f * c + i * g
        tc = np.tanh(c)
        h = o * tc
        acts.append(act)
        cs.append(c)
        tanh_cs.append(tc)
        hs[t + 1] = h
    flat_h = hs[1:].reshape(T * B, H)
    logits = flat_h @ w_out.T + b_out
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = T * B
    loss = -log_p[np.arange(n), targets].mean()
    d_logits = np.exp(log_p)
    d_logits[np.arange(n), targets] -= 1
    d_logits /= n
    d_w_out = d_logits.T @ flat_h
    d_b_out = d_logits.sum(axis=0)
    d_hs = (d_logits @ w_out).reshape(T, B, H)
    d_a = np.empty((T, B, 4 * H), DTYPE)
    dh = np.zeros((B, H), DTYPE)
    dc = np.zeros((B, H), DTYPE)
    for t in reversed(range(T)):
        act, tc = acts[t], tanh_cs[t]
        i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        dh = dh + d_hs[t]
        dc = dc + dh * o * (1 - tc * tc)
        d_a[t, :, :H] = dc * g * i * (1 - i)
        d_a[t, :, H:2 * H] = dc * cs[t] * f * (1 - f)
        d_a[t, :, 2 * H:3 * H] = dc * i * (1 - g * g)
        d_a[t, :, 3 * H:] = dh * tc * o * (1 - o)
        dh = d_a[t] @ w_hh
        dc = dc * f
    flat_d_a = d_a.reshape(T * B, 4 * H)
    d_w_hh = flat_d_a.T @ hs[:-1].reshape(T * B, H)
    d_w_ih = flat_d_a.T @ x.reshape(T * B, -1)
    d_b = flat_d_a.sum(axis=0)
    return loss, (d_w_ih, d_w_hh, d_b, d_b, d_w_out, d_b_out)


def paired_times(first, second, repeats: int = REPEATS) -> tuple[list[float], list[float]]:
    """CPU times (ms) of ``first`` and ``second`` run alternately, after one warm-up call each.

    Alternating, and counting this process's CPU time rather than wall time, keeps the
    comparison fair on a machine shared with other jobs (BLAS runs on this one thread).
    """
    first(), second()
    times_first, times_second = [], []
    for _ in range(repeats):
        for fn, times in ((first, times_first), (second, times_second)):
            start = time.process_time()
            fn()
            times.append(1000 * (time.process_time() - start))
    return times_first, times_second


def torch_step_function(lstm: nn.LSTM, readout: nn.Linear, x: np.ndarray, targets: np.ndarray):
    """PyTorch's per-step ``LSTMCell`` loop with the same weights, or None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    cell = torch.nn.LSTMCell(INPUT, HIDDEN)
    head = torch.nn.Linear(HIDDEN, CLASSES)
    cell.load_state_dict({k.replace("_l0", ""): torch.from_numpy(v) for k, v in lstm.state_dict().items()})
    head.load_state_dict({k: torch.from_numpy(v) for k, v in readout.state_dict().items()})
    inputs, labels = torch.from_numpy(x), torch.from_numpy(targets)

    def step():
        cell.zero_grad()
        head.zero_grad()
        state, outputs = None, []
        for t in range(STEPS):
            state = cell(inputs[t], state)
            outputs.append(state[0])
        loss = torch.nn.functional.cross_entropy(head(torch.stack(outputs).reshape(-1, HIDDEN)), labels)
        loss.backward()

    return step


def main() -> None:
    rng = np.random.default_rng(0)
    lstm = nn.LSTM(INPUT, HIDDEN, rng=rng, dtype=DTYPE)
    readout = nn.Linear(HIDDEN, CLASSES, rng=rng, dtype=DTYPE)
    params = [*lstm.parameters(), *readout.parameters()]
    x = rng.standard_normal((STEPS, BATCH, INPUT)).astype(DTYPE)
    targets = rng.integers(0, CLASSES, size=STEPS * BATCH)

    def minigrad_step():
        for p in params:
            p.grad = None
        output, _ = lstm(minigrad.Tensor(x))
        loss = F.cross_entropy(readout(output.reshape(-1, HIDDEN)), targets)
        loss.backward()
        return loss.item(), [p.grad for p in params]

    weights = [p.data for p in params]

    def reference_step():
        return numpy_step(x, targets, *weights)

    # Same numbers first: the comparison is only fair if both compute the same thing.
    loss_m, grads_m = minigrad_step()
    loss_r, grads_r = reference_step()
    assert abs(loss_m - loss_r) < 1e-4, (loss_m, loss_r)
    for gm, gr in zip(grads_m, grads_r):
        assert np.allclose(gm, gr, rtol=1e-3, atol=1e-5), np.abs(gm - gr).max()

    times_minigrad, times_reference = paired_times(minigrad_step, reference_step)
    t_minigrad = statistics.median(times_minigrad)
    t_reference = statistics.median(times_reference)
    ratio = statistics.median(m / r for m, r in zip(times_minigrad, times_reference))
    print(f"LSTM training step, batch {BATCH} x {STEPS} steps x hidden {HIDDEN}, {CLASSES} classes, float32")
    print(f"  hand-written numpy : {t_reference:7.1f} ms CPU (median of {REPEATS})")
    print(f"  minigrad.nn.LSTM   : {t_minigrad:7.1f} ms CPU (median of {REPEATS})")
    print(f"  ratio              : {ratio:7.2f}x (median of paired ratios; target <= {TARGET}x) "
          f"{'OK' if ratio <= TARGET else 'SLOW'}")
    torch_step = torch_step_function(lstm, readout, x, targets)
    if torch_step is not None:
        times_torch, times_reference = paired_times(torch_step, reference_step)
        print(f"  PyTorch LSTMCell loop, for scale: {statistics.median(times_torch):.1f} ms CPU "
              f"({statistics.median(t / r for t, r in zip(times_torch, times_reference)):.2f}x the numpy step)")


if __name__ == "__main__":
    main()
