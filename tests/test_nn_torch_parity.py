"""PyTorch parity: minigrad's cells and layers, loaded with PyTorch's state dicts, give PyTorch's
outputs and gradients (fixtures made once by tests/make_torch_fixtures.py; no PyTorch needed here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import nn

FIXTURES = Path(__file__).parent / "fixtures"
TOL = dict(rtol=1e-9, atol=1e-11)


def _group(path: str, prefix: str) -> dict[str, np.ndarray]:
    with np.load(FIXTURES / path) as data:
        return {key[len(prefix) + 1:]: data[key] for key in data.files if key.startswith(prefix + "/")}


def _part(record: dict, kind: str) -> dict[str, np.ndarray]:
    return {key[len(kind) + 1:]: value for key, value in record.items() if key.startswith(kind + "/")}


def _check(module: nn.Module, record: dict, outputs: dict[str, minigrad.Tensor], inputs: dict) -> None:
    """Compare outputs, then backpropagate the fixture's weighted loss and compare every gradient."""
    loss = 0
    for name, value in outputs.items():
        np.testing.assert_allclose(value.data, record[f"out/{name}"], **TOL, err_msg=f"output {name}")
        loss = loss + (value * record[f"r/{name}"]).sum()
    loss.backward()
    grads = _part(record, "grad")
    assert sorted(grads) == sorted(name for name, _ in module.named_parameters())
    for name, param in module.named_parameters():
        np.testing.assert_allclose(param.grad, grads[name], **TOL, err_msg=f"gradient of {name}")
    for name, expected in _part(record, "grad_input").items():
        np.testing.assert_allclose(inputs[name].grad, expected, **TOL, err_msg=f"gradient of input {name}")


def _loaded(module: nn.Module, record: dict) -> nn.Module:
    params = _part(record, "param")
    assert list(params) == list(module.state_dict()), "parameter names and order are PyTorch's"
    module.load_state_dict(params)
    return module


@pytest.mark.parametrize("name", ["RNNCell_tanh", "RNNCell_relu", "GRUCell", "LSTMCell"])
def test_cell_matches_pytorch(name):
    record = _group("torch_cells.npz", name)
    inputs = {k: minigrad.Tensor(v, requires_grad=True) for k, v in _part(record, "in").items()}
    d, h = inputs["x"].shape[1], inputs["h"].shape[1]
    if name == "LSTMCell":
        cell = _loaded(nn.LSTMCell(d, h), record)
        h1, c1 = cell(inputs["x"], (inputs["h"], inputs["c"]))
        outputs = {"h": h1, "c": c1}
    else:
        kwargs = {"nonlinearity": name.split("_")[1]} if name.startswith("RNNCell") else {}
        cell = _loaded(getattr(nn, name.split("_")[0])(d, h, **kwargs), record)
        outputs = {"h": cell(inputs["x"], inputs["h"])}
    _check(cell, record, outputs, inputs)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("variant", ["full", "lengths"])
def test_layer_matches_pytorch(kind, variant):
    """2 layers, bidirectional, batch_first, given initial state; with lengths: packed sequences."""
    record = _group("torch_layers.npz", f"{kind}_{variant}")
    raw = _part(record, "in")
    inputs = {k: minigrad.Tensor(v, requires_grad=True) for k, v in raw.items() if k != "lengths"}
    x = inputs["x"]
    layer = _loaded(getattr(nn, kind)(x.shape[2], inputs["h0"].shape[2], num_layers=2,
                                      batch_first=True, bidirectional=True), record)
    hx = (inputs["h0"], inputs["c0"]) if kind == "LSTM" else inputs["h0"]
    output, state = layer(x, hx, lengths=raw.get("lengths"))
    outputs = {"output": output}
    if kind == "LSTM":
        outputs["h_n"], outputs["c_n"] = state
    else:
        outputs["h_n"] = state
    _check(layer, record, outputs, inputs)


def test_state_dict_round_trip_keeps_pytorch_names():
    record = _group("torch_layers.npz", "LSTM_full")
    layer = nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    layer.load_state_dict(_part(record, "param"))
    for name, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, record[f"param/{name}"])
    assert "bias_hh_l1_reverse" in layer.state_dict()
