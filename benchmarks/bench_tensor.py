"""Time one training step of a vanilla tanh RNN in minigrad against the same step in hand-written numpy.

The model is chapter 3's pattern A on characters: one-hot inputs :math:`x^{(t)}` over a 65-symbol
vocabulary, :math:`h^{(t)} = \\tanh(b + W h^{(t-1)} + U x^{(t)})`, scores :math:`o^{(t)} = c + V h^{(t)}`
and a softmax cross-entropy at every step. One step is the forward pass, the loss and the full
backpropagation through time. The minigrad version is written the way a student writes it (a
Python loop over a precomputed input projection, the hidden states stacked for the readout);
the numpy version has its backward pass derived by hand (chapter 4), with ``np.dot`` as in
min-char-rnn. Both run in float32, in the same process, on one BLAS thread, in pairs of
alternating order; the median step time of each is reported with the median of the per-pair
ratios. Times are CPU times of this process (``time.process_time``): on a machine shared with
other jobs, wall-clock time also counts the moments the process waits for a core, which swings
far more than the code does; single-threaded, the two agree on an idle machine. Each size is
timed in several rounds with fresh arrays, and glibc's allocator is asked to keep freed memory
(see ``keep_freed_memory``), so that page faults do not decide the large case. The fixed cost
of one tiny operation plus its backward pass, which decides the small case, is printed too.

Run: ``.venv/bin/python benchmarks/bench_tensor.py``
"""

from __future__ import annotations

import ctypes
import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # before numpy is imported: a multi-threaded BLAS makes timings swing


def keep_freed_memory() -> bool:
    """Ask glibc's allocator to reuse freed memory instead of returning it to the system.

    By default a buffer over 128 KiB is mapped fresh from the kernel and unmapped when freed, and
    the heap is trimmed when its top is free, so a training step may pay a page fault for every
    page of its large buffers, or not, depending on where earlier buffers landed: the large
    case's ratio then swings between 1.2x and 1.5x from one run to the next. With freed memory
    kept, both implementations are timed on their arithmetic. Returns False where the allocator
    is not glibc's (the timings are then noisier, not wrong).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # mallopt parameters, from <malloc.h>
    return bool(libc.mallopt(m_mmap_threshold, 64 << 20) and libc.mallopt(m_trim_threshold, 256 << 20))


KEEPS_FREED_MEMORY = keep_freed_memory()

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import minigrad  # noqa: E402
import minigrad.functional as F  # noqa: E402

clock = time.process_time
VOCAB = 65
DTYPE = np.float32
# (batch, steps, hidden, timed repeats, target ratio)
SIZES = ((32, 64, 128, 40, 1.3), (1, 25, 100, 300, 2.0))
# Each round makes its arrays afresh: where large arrays land in memory changes a step's time by
# up to 20% (cache conflicts), so one round can be lucky or unlucky for either side.
ROUNDS = 5


def make_problem(batch: int, steps: int, hidden: int, rng: np.random.Generator):
    """Parameters (U, W, b, V, c), one-hot inputs (T, B, VOCAB) and integer targets (T, B)."""
    params = [
        rng.standard_normal((VOCAB, hidden)) * 0.1,
        rng.standard_normal((hidden, hidden)) / np.sqrt(hidden),
        np.zeros(hidden),
        rng.standard_normal((hidden, VOCAB)) * 0.1,
        np.zeros(VOCAB),
    ]
    symbols = rng.integers(0, VOCAB, size=(steps + 1, batch))
    inputs = np.eye(VOCAB, dtype=DTYPE)[symbols[:-1]]
    return [p.astype(DTYPE) for p in params], inputs, symbols[1:]


def minigrad_step(params: list, inputs: minigrad.Tensor, targets: minigrad.Tensor) -> float:
    """Forward, loss and BPTT as a student writes them with minigrad."""
    U, W, b, V, c = params
    for p in params:
        p.grad = None
    steps, batch, _ = inputs.shape
    xw = inputs @ U + b  # the input projection of every step at once: (T, B, H)
    h = minigrad.zeros(batch, W.shape[0], dtype=DTYPE)
    hs = []
    for t in range(steps):
        h = (xw[t] + h @ W).tanh()
        hs.append(h)
    logits = minigrad.stack(hs) @ V + c  # (T, B, VOCAB)
    loss = F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))
    loss.backward()
    return loss.item()


def numpy_step(params: list, inputs: np.ndarray, targets: np.ndarray) -> tuple[float, list]:
    """The same step with the forward and backward passes written out in numpy (chapter 4).

    Matrix products use ``np.dot``, as min-char-rnn does: for batch 1 the weight gradient
    :math:`h^\top \bar{a}` is an outer product, where numpy's ``@`` takes a path ~6x slower.
    """
    U, W, b, V, c = params
    steps, batch, _ = inputs.shape
    hidden = W.shape[0]
    x = inputs.reshape(-1, VOCAB)
    xw = np.dot(x, U).reshape(steps, batch, hidden) + b
    hs = np.zeros((steps + 1, batch, hidden), dtype=DTYPE)  # hs[t + 1] is h^(t), hs[0] = h^(0) = 0
    for t in range(steps):
        hs[t + 1] = np.tanh(xw[t] + np.dot(hs[t], W))
    states = hs[1:].reshape(-1, hidden)
    logits = np.dot(states, V) + c
    logits -= logits.max(axis=1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    rows, flat_targets = np.arange(len(logits)), targets.reshape(-1)
    loss = -log_probs[rows, flat_targets].mean()
    grad_logits = np.exp(log_probs)  # dL/do = softmax - one_hot(y), over the number of terms
    grad_logits[rows, flat_targets] -= 1
    grad_logits /= len(logits)
    grad_V, grad_c = np.dot(states.T, grad_logits), grad_logits.sum(axis=0)
    grad_hs = np.dot(grad_logits, V.T).reshape(steps, batch, hidden)
    grad_W = np.zeros_like(W)
    grad_xw = np.empty_like(xw)
    grad_h_next = np.zeros((batch, hidden), dtype=DTYPE)
    for t in reversed(range(steps)):
        grad_a = (1 - hs[t + 1] * hs[t + 1]) * (grad_hs[t] + grad_h_next)
        grad_xw[t] = grad_a
        grad_W += np.dot(hs[t].T, grad_a)
        grad_h_next = np.dot(grad_a, W.T)
    grad_xw = grad_xw.reshape(-1, hidden)
    return float(loss), [np.dot(x.T, grad_xw), grad_W, grad_xw.sum(axis=0), grad_V, grad_c]


def check_same_gradients(params: list, inputs: np.ndarray, targets: np.ndarray) -> None:
    """Both implementations must compute the same loss and gradients before they are timed."""
    tensors = [minigrad.Tensor(p, requires_grad=True) for p in params]
    loss = minigrad_step(tensors, minigrad.Tensor(inputs), minigrad.Tensor(targets))
    reference_loss, reference_grads = numpy_step(params, inputs, targets)
    assert abs(loss - reference_loss) < 1e-4, (loss, reference_loss)
    for p, grad in zip(tensors, reference_grads):
        np.testing.assert_allclose(p.grad, grad, rtol=1e-3, atol=1e-5)


def time_step(batch: int, steps: int, hidden: int, repeats: int) -> tuple[float, float, float]:
    """Median seconds per step for minigrad and for numpy, and the median ratio of adjacent pairs.

    The two run in pairs, in alternating order; the ratio within a pair compares runs made under
    the same load, so its median is steadier than the ratio of the two medians.
    """
    params, inputs, targets = make_problem(batch, steps, hidden, np.random.default_rng(0))
    check_same_gradients(params, inputs, targets)
    tensors = [minigrad.Tensor(p, requires_grad=True) for p in params]
    inputs_t, targets_t = minigrad.Tensor(inputs), minigrad.Tensor(targets)

    def run_minigrad() -> float:
        start = clock()
        minigrad_step(tensors, inputs_t, targets_t)
        return clock() - start

    def run_numpy() -> float:
        start = clock()
        numpy_step(params, inputs, targets)
        return clock() - start

    for _ in range(10):  # warm-up: the first steps also fault in the pages of fresh buffers
        run_minigrad()
        run_numpy()
    times_minigrad, times_numpy = [], []
    for repeat in range(repeats):
        if repeat % 2:
            times_numpy.append(run_numpy())
            times_minigrad.append(run_minigrad())
        else:
            times_minigrad.append(run_minigrad())
            times_numpy.append(run_numpy())
    ratios = [m / n for m, n in zip(times_minigrad, times_numpy)]
    return statistics.median(times_minigrad), statistics.median(times_numpy), statistics.median(ratios)


def tiny_op_overhead(loops: int = 2000, repeats: int = 15) -> float:
    """Median seconds for one operation on a 1-element tensor plus ``backward`` through it."""
    x = minigrad.tensor([1.5], requires_grad=True)
    grad = np.ones(1)
    times = []
    for _ in range(repeats):
        start = clock()
        for _ in range(loops):
            (x * x).backward(grad)
        times.append((clock() - start) / loops)
    return statistics.median(times)


def main() -> None:
    print(f"vanilla tanh RNN step (forward, {VOCAB}-way cross-entropy at every step, full BPTT), "
          f"{np.dtype(DTYPE).name}, BLAS threads = {os.environ['OPENBLAS_NUM_THREADS']}, "
          f"freed memory kept by the allocator: {'yes' if KEEPS_FREED_MEMORY else 'no (not glibc)'}")
    for batch, steps, hidden, repeats, target in SIZES:
        rounds = [time_step(batch, steps, hidden, repeats) for _ in range(ROUNDS)]
        t_minigrad, t_numpy, ratio = (statistics.median(values) for values in zip(*rounds))
        each = ", ".join(f"{r:.2f}" for _, _, r in rounds)
        print(f"  batch {batch:2d} x {steps:2d} steps x hidden {hidden:3d}: numpy {1e3 * t_numpy:7.2f} ms, "
              f"minigrad {1e3 * t_minigrad:7.2f} ms, ratio {ratio:4.2f}x "
              f"(target <= {target}x; median of {ROUNDS} rounds [{each}] of {repeats} pairs each)")
    print(f"  one tiny op + backward: {1e6 * tiny_op_overhead():.1f} us")


if __name__ == "__main__":
    main()
