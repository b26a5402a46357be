"""Generate the PyTorch reference fixtures for tests/test_nn_torch_parity.py and tests/test_optim.py.

Run once, with PyTorch installed in a separate environment (never needed by the tests):

    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchenv/bin/python tests/make_torch_fixtures.py

Everything is float64 and small. For each module the fixture holds its state dict
(``param/<name>``), the inputs, the outputs, and the gradients of the scalar
:math:`L = \\sum_k \\langle y_k, r_k \\rangle` (``r/<name>``, random weights for every output
``y_k``) with respect to every parameter (``grad/<name>``) and input (``grad_input/<name>``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

FIXTURES = Path(__file__).parent / "fixtures"
torch.set_default_dtype(torch.float64)


def _weighted_loss(outputs: dict[str, torch.Tensor], rng: np.random.Generator, record: dict) -> torch.Tensor:
    loss = torch.zeros(())
    for name, value in outputs.items():
        r = rng.standard_normal(tuple(value.shape))
        record[f"r/{name}"] = r
        record[f"out/{name}"] = value.detach().numpy().copy()
        loss = loss + (value * torch.from_numpy(r)).sum()
    return loss


def _record(prefix: str, module: nn.Module, inputs: dict[str, np.ndarray], run, rng, store: dict) -> None:
    """Run ``run(module, tensors) -> dict of outputs``, backpropagate, store everything under ``prefix``."""
    record: dict[str, np.ndarray] = {}
    for name, value in module.state_dict().items():
        record[f"param/{name}"] = value.numpy().copy()
    tensors = {}
    for name, value in inputs.items():
        record[f"in/{name}"] = value
        grad = value.dtype.kind == "f"
        tensors[name] = torch.tensor(value, requires_grad=grad)
    loss = _weighted_loss(run(module, tensors), rng, record)
    loss.backward()
    for name, param in module.named_parameters():
        record[f"grad/{name}"] = param.grad.numpy().copy()
    for name, tensor in tensors.items():
        if tensor.requires_grad:
            record[f"grad_input/{name}"] = tensor.grad.numpy().copy()
    store.update({f"{prefix}/{key}": value for key, value in record.items()})


def cells(rng: np.random.Generator) -> dict:
    store: dict = {}
    batch, d, h = 2, 3, 4
    specs = {
        "RNNCell_tanh": nn.RNNCell(d, h),
        "RNNCell_relu": nn.RNNCell(d, h, nonlinearity="relu"),
        "GRUCell": nn.GRUCell(d, h),
        "LSTMCell": nn.LSTMCell(d, h),
    }
    for name, cell in specs.items():
        inputs = {"x": rng.standard_normal((batch, d)), "h": rng.standard_normal((batch, h))}
        if name == "LSTMCell":
            inputs["c"] = rng.standard_normal((batch, h))

            def run(m, t):
                h1, c1 = m(t["x"], (t["h"], t["c"]))
                return {"h": h1, "c": c1}
        else:
            def run(m, t):
                return {"h": m(t["x"], t["h"])}
        _record(name, cell, inputs, run, rng, store)
    return store


def layers(rng: np.random.Generator) -> dict:
    """RNN, GRU, LSTM: 2 layers, bidirectional, batch_first, with and without lengths."""
    store: dict = {}
    batch, steps, d, h, num_layers = 3, 5, 3, 4, 2
    lengths = np.array([5, 3, 1])
    for kind in ("RNN", "GRU", "LSTM"):
        for variant in ("full", "lengths"):
            layer = getattr(nn, kind)(d, h, num_layers=num_layers, batch_first=True, bidirectional=True)
            inputs = {"x": rng.standard_normal((batch, steps, d)),
                      "h0": rng.standard_normal((2 * num_layers, batch, h))}
            if kind == "LSTM":
                inputs["c0"] = rng.standard_normal((2 * num_layers, batch, h))
            if variant == "lengths":
                inputs["lengths"] = lengths

            def run(m, t, kind=kind, variant=variant):
                hx = (t["h0"], t["c0"]) if kind == "LSTM" else t["h0"]
                x = t["x"]
                if variant == "lengths":
                    x = nn.utils.rnn.pack_padded_sequence(x, t["lengths"], batch_first=True, enforce_sorted=False)
                output, state = m(x, hx)
                if variant == "lengths":
                    output, _ = nn.utils.rnn.pad_packed_sequence(output, batch_first=True, total_length=steps)
                outs = {"output": output}
                if kind == "LSTM":
                    outs["h_n"], outs["c_n"] = state
                else:
                    outs["h_n"] = state
                return outs

            _record(f"{kind}_{variant}", layer, inputs, run, rng, store)
    return store


def optimisers(rng: np.random.Generator) -> dict:
    """Parameter trajectories of SGD, Adam and Adagrad on fixed gradient sequences, and clipping."""
    store: dict = {}
    start = rng.standard_normal(5)
    grads = rng.standard_normal((4, 5))
    store["start"], store["grads"] = start, grads
    configs = {
        "SGD_momentum": (torch.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
        "SGD_plain": (torch.optim.SGD, dict(lr=0.1)),
        "Adam": (torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.1)),
        "Adagrad": (torch.optim.Adagrad, dict(lr=0.1, weight_decay=0.05, initial_accumulator_value=0.2)),
    }
    for name, (cls, kwargs) in configs.items():
        param = torch.tensor(start.copy(), requires_grad=True)
        optimiser = cls([param], **kwargs)
        path = []
        for g in grads:
            param.grad = torch.from_numpy(g.copy())
            optimiser.step()
            path.append(param.detach().numpy().copy())
        store[f"{name}/path"] = np.array(path)
    a = torch.zeros(3, requires_grad=True)
    b = torch.zeros(2, 2, requires_grad=True)
    a.grad = torch.from_numpy(rng.standard_normal(3) * 3)
    b.grad = torch.from_numpy(rng.standard_normal((2, 2)) * 3)
    store["clip/a"], store["clip/b"] = a.grad.numpy().copy(), b.grad.numpy().copy()
    store["clip/norm"] = np.array(float(nn.utils.clip_grad_norm_([a, b], max_norm=1.5)))
    store["clip/a_clipped"], store["clip/b_clipped"] = a.grad.numpy().copy(), b.grad.numpy().copy()
    return store


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    torch.manual_seed(0)
    makers = (("torch_cells", cells), ("torch_layers", layers), ("torch_optim", optimisers))
    for seed, (name, make) in enumerate(makers):
        store = make(np.random.default_rng(seed))
        np.savez_compressed(FIXTURES / f"{name}.npz", **store)
        print(f"wrote {FIXTURES / name}.npz: {len(store)} arrays, torch {torch.__version__}")


if __name__ == "__main__":
    main()
