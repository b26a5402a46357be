"""Weight initialisation (minigrad.nn.init)."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.nn import init


@pytest.mark.parametrize("shape", [(5, 5), (8, 3), (3, 8), (4, 2, 3)])
def test_orthogonal_has_orthonormal_rows_or_columns(shape):
    w = init.orthogonal_(minigrad.zeros(shape), gain=2.0, rng=np.random.default_rng(0))
    q = w.data.reshape(shape[0], -1) / 2.0
    small = min(q.shape)
    gram = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)


def test_orthogonal_writes_into_a_view_such_as_one_gate_block():
    cell = nn.LSTMCell(3, 4, rng=np.random.default_rng(1))
    before = cell.weight_hh.data.copy()
    init.orthogonal_(cell.weight_hh.data[4:8], rng=np.random.default_rng(2))
    block = cell.weight_hh.data[4:8]
    np.testing.assert_allclose(block @ block.T, np.eye(4), atol=1e-12)
    np.testing.assert_array_equal(cell.weight_hh.data[:4], before[:4])


def test_xavier_uniform_bound_and_spread():
    w = init.xavier_uniform_(minigrad.zeros(200, 100), gain=1.5, rng=np.random.default_rng(3))
    bound = 1.5 * np.sqrt(6 / 300)
    assert np.abs(w.data).max() <= bound
    assert np.abs(w.data).max() > 0.99 * bound
    assert abs(w.data.std() - bound / np.sqrt(3)) < 0.01 * bound


def test_uniform_and_zeros_keep_dtype_and_return_their_argument():
    w = minigrad.zeros(1000, dtype=np.float32)
    assert init.uniform_(w, -0.5, 2.0, rng=np.random.default_rng(4)) is w
    assert w.dtype == np.float32 and w.data.min() >= -0.5 and w.data.max() <= 2.0 and w.data.min() < -0.4
    assert init.zeros_(w) is w and not w.data.any()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.orthogonal_(minigrad.zeros(3))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform_(minigrad.zeros(3))
    with pytest.raises(TypeError, match="Tensor or a numpy array"):
        init.zeros_([1.0, 2.0])


def test_lstm_forget_bias_sets_the_second_gate_block_of_every_layer_and_direction():
    rng = np.random.default_rng(5)
    model = nn.Sequential(nn.LSTM(2, 3, num_layers=2, bidirectional=True, rng=rng), nn.LSTMCell(2, 3, rng=rng))
    assert init.lstm_forget_bias_(model, 1.0) is model
    for name, value in model.state_dict().items():
        if "bias_ih" in name:
            np.testing.assert_array_equal(value[3:6], 1.0)
            assert not np.all(value[:3] == 1.0)
        if "bias_hh" in name:
            np.testing.assert_array_equal(value[3:6], 0.0)
    cell = model[1]
    _, c = cell(minigrad.zeros(1, 2), (minigrad.zeros(1, 3), minigrad.ones(1, 3)))
    assert c.shape == (1, 3)


def test_lstm_forget_bias_needs_an_lstm():
    with pytest.raises(ValueError, match="contains no LSTM"):
        init.lstm_forget_bias_(nn.GRU(2, 3))


def test_lstm_chrono_init_spreads_forget_biases_and_mirrors_them_in_the_input_gate():
    rng = np.random.default_rng(6)
    model = nn.Sequential(nn.LSTM(2, 400, num_layers=2, rng=rng), nn.LSTMCell(2, 3, rng=rng))
    before = model.state_dict()
    assert init.lstm_chrono_init_(model, max_delay=100, rng=np.random.default_rng(7)) is model
    size = {name: (400 if name.startswith("0.") else 3) for name in before}
    for name, value in model.state_dict().items():
        h = size[name]
        if "bias_ih" in name:
            forget = value[h:2 * h]
            assert forget.min() >= 0.0 and forget.max() <= np.log(99)  # log U(1, T - 1)
            np.testing.assert_array_equal(value[:h], -forget)
            np.testing.assert_array_equal(value[2 * h:], before[name][2 * h:])
        elif "bias_hh" in name:
            np.testing.assert_array_equal(value[:2 * h], 0.0)
            np.testing.assert_array_equal(value[2 * h:], before[name][2 * h:])
    # exp(b_f) is uniform on (1, T - 1): its mean is T / 2 = 50
    memory = np.exp(model.state_dict()["0.bias_ih_l0"][400:800])
    assert abs(memory.mean() - 50.0) < 4.0
    first, second = (model.state_dict()[f"0.bias_ih_l{k}"][400:800] for k in (0, 1))
    assert not np.array_equal(first, second)


def test_lstm_chrono_init_needs_an_lstm_and_a_delay_above_two():
    with pytest.raises(ValueError, match="contains no LSTM"):
        init.lstm_chrono_init_(nn.GRU(2, 3), max_delay=10)
    with pytest.raises(ValueError, match="above 2"):
        init.lstm_chrono_init_(nn.LSTM(2, 3), max_delay=2)


@pytest.mark.parametrize("make_cell, gates", [(nn.RNNCell, 1), (nn.GRUCell, 3), (nn.LSTMCell, 4)])
def test_orthogonal_blocks_makes_every_gate_block_gain_times_orthogonal(make_cell, gates):
    cell = make_cell(3, 5, rng=np.random.default_rng(7))
    assert init.orthogonal_blocks_(cell.weight_hh, gain=0.9, rng=np.random.default_rng(8)) is cell.weight_hh
    blocks = np.split(cell.weight_hh.data, gates)
    for block in blocks:
        np.testing.assert_allclose(block.T @ block, 0.81 * np.eye(5), atol=1e-12)
        np.testing.assert_allclose(np.abs(np.linalg.eigvals(block)), 0.9, atol=1e-12)
    if gates > 1:
        assert not np.allclose(blocks[0], blocks[1])  # each block draws its own Q


def test_orthogonal_blocks_draws_the_blocks_in_order_from_rng():
    weight = np.empty((12, 4))
    init.orthogonal_blocks_(weight, gain=1.5, rng=np.random.default_rng(9))
    rng = np.random.default_rng(9)
    expected = np.concatenate([init.orthogonal_(np.empty((4, 4)), gain=1.5, rng=rng) for _ in range(3)])
    np.testing.assert_array_equal(weight, expected)


@pytest.mark.parametrize("shape", [(10, 4), (4,), (2, 3, 3)])
def test_orthogonal_blocks_needs_a_stacked_square_weight(shape):
    with pytest.raises(ValueError, match=r"\(G\*H, H\)"):
        init.orthogonal_blocks_(np.zeros(shape))


def test_uniform_parameter_draws_within_one_over_root_fan_in():
    p = init.uniform_parameter((40, 25), 16, np.random.default_rng(0), dtype=np.float32)
    assert isinstance(p, nn.Parameter) and p.requires_grad and p.shape == (40, 25) and p.dtype == np.float32
    assert np.abs(p.data).max() <= 0.25 and np.abs(p.data).max() > 0.24  # 1/sqrt(16), nearly reached
    again = init.uniform_parameter((40, 25), 16, np.random.default_rng(0), dtype=np.float32)
    np.testing.assert_array_equal(p.data, again.data)
