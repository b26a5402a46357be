"""Time minigrad.Value against micrograd 0.1.0 on micrograd's own MLP example, in one run.

The workload is micrograd's demo: ``MLP(3, [16, 16, 1])`` scored on 20 samples with the
max-margin loss plus L2 regularisation, one forward and one backward pass per step. Both engines
run exactly the same model code (below), with Python's garbage collector on, as it is by default.

Run: ``.venv/bin/python benchmarks/bench_scalar.py``
"""

from __future__ import annotations

import gc
import random
import statistics
import time

import micrograd.engine

import minigrad

SIZES = (3, 16, 16, 1)
N_SAMPLES = 20
STEPS = 15


def make_mlp(value_cls, rng: random.Random):
    """Layers of (weights, biases) lists of ``value_cls`` scalars, uniform in [-1, 1] like micrograd."""
    return [
        ([[value_cls(rng.uniform(-1, 1)) for _ in range(n_in)] for _ in range(n_out)],
         [value_cls(0.0) for _ in range(n_out)])
        for n_in, n_out in zip(SIZES[:-1], SIZES[1:])
    ]


def forward(mlp, x):
    """ReLU hidden layers and a linear output, as micrograd.nn.MLP computes them."""
    for depth, (weights, biases) in enumerate(mlp):
        x = [sum((wi * xi for wi, xi in zip(w, x)), b) for w, b in zip(weights, biases)]
        if depth < len(mlp) - 1:
            x = [a.relu() for a in x]
    return x[0]


def training_step(mlp, xs, ys) -> float:
    params = [p for weights, biases in mlp for p in [*sum(weights, []), *biases]]
    for p in params:
        p.grad = 0.0
    scores = [forward(mlp, x) for x in xs]
    losses = [(1 + -y * s).relu() for y, s in zip(ys, scores)]
    loss = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in params)
    loss.backward()
    return loss.data


def time_engine(value_cls, xs, ys) -> float:
    mlp = make_mlp(value_cls, random.Random(0))
    training_step(mlp, xs, ys)  # warm-up
    times = []
    for _ in range(STEPS):
        start = time.perf_counter()
        training_step(mlp, xs, ys)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    assert gc.isenabled(), "the comparison is with Python's garbage collector on"
    rng = random.Random(1)
    xs = [[rng.uniform(-2, 2) for _ in range(SIZES[0])] for _ in range(N_SAMPLES)]
    ys = [rng.choice((-1.0, 1.0)) for _ in range(N_SAMPLES)]
    t_micrograd = time_engine(micrograd.engine.Value, xs, ys)
    t_minigrad = time_engine(minigrad.Value, xs, ys)
    print(f"MLP{SIZES} on {N_SAMPLES} samples, forward + backward, median of {STEPS} steps, gc on")
    print(f"  micrograd 0.1.0 : {1e3 * t_micrograd:8.1f} ms/step")
    print(f"  minigrad.Value  : {1e3 * t_minigrad:8.1f} ms/step")
    print(f"  speed-up        : {t_micrograd / t_minigrad:8.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
