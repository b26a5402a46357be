"""Module, Parameter, containers and feed-forward layers (minigrad.nn.module, minigrad.nn.layers)."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import functional as F
from minigrad import nn


class Block(nn.Module):
    def __init__(self, rng):
        super().__init__()
        self.inner = nn.Linear(3, 4, rng=rng)
        self.scale = nn.Parameter(np.ones(4))
        self.note = "not a parameter"

    def forward(self, x):
        return self.inner(x) * self.scale


class Net(nn.Module):
    def __init__(self, rng):
        super().__init__()
        self.encoder = Block(rng)
        self.head = nn.Sequential(nn.Linear(4, 2, rng=rng), nn.Dropout(0.5, rng=rng))

    def forward(self, x):
        return self.head(self.encoder(x))


@pytest.fixture
def net():
    return Net(np.random.default_rng(0))


def test_named_parameters_are_dotted_paths_in_assignment_order(net):
    names = [name for name, _ in net.named_parameters()]
    assert names == ["encoder.scale", "encoder.inner.weight", "encoder.inner.bias", "head.0.weight", "head.0.bias"]
    assert len(list(net.parameters())) == 5
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())


def test_own_parameters_come_before_submodules_like_pytorch(net):
    assert [n for n, _ in net.encoder.named_parameters()] == ["scale", "inner.weight", "inner.bias"]


def test_shared_parameter_is_listed_once():
    rng = np.random.default_rng(1)
    a = nn.Linear(2, 2, rng=rng)
    model = nn.Sequential(a, a)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]


def test_children_and_modules(net):
    assert list(net.children()) == [net.encoder, net.head]
    assert len(list(net.modules())) == 6  # net, encoder, inner, head, linear, dropout
    assert [name for name, _ in net.named_modules()][:3] == ["", "encoder", "encoder.inner"]


def test_train_and_eval_return_self_and_reach_every_module(net):
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net
    assert all(m.training for m in net.modules())


def test_zero_grad_forgets_gradients(net):
    net(minigrad.ones(2, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_is_a_copy_and_loads_back(net):
    state = net.state_dict()
    assert isinstance(state["head.0.bias"], np.ndarray)
    state["head.0.bias"][:] = 7.0
    assert not np.any(net.head[0].bias.data == 7.0)
    other = Net(np.random.default_rng(5))
    assert other.load_state_dict(state) == ([], [])
    np.testing.assert_array_equal(other.head[0].bias.data, 7.0)


def test_load_state_dict_reports_missing_and_unexpected_keys(net):
    state = net.state_dict()
    del state["encoder.scale"]
    state["encoder.extra"] = np.zeros(1)
    with pytest.raises(RuntimeError, match=r"missing keys \['encoder.scale'\].*unexpected keys \['encoder.extra'\]"):
        net.load_state_dict(state)
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["encoder.scale"] and result.unexpected_keys == ["encoder.extra"]


def test_load_state_dict_rejects_shape_mismatch_even_when_not_strict(net):
    state = net.state_dict()
    state["head.0.weight"] = np.zeros((3, 3))
    with pytest.raises(RuntimeError, match=r"shape mismatch for head.0.weight.*\(2, 4\).*\(3, 3\)"):
        net.load_state_dict(state, strict=False)


def test_repr_is_a_readable_tree(net):
    text = repr(net)
    assert text.splitlines()[0] == "Net("
    assert "(inner): Linear(in_features=3, out_features=4, bias=True)" in text
    assert "(1): Dropout(p=0.5)" in text


def test_unknown_attribute_raises_attribute_error(net):
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'encodr'"):
        net.encodr  # noqa: B018


def test_assigning_before_init_names_the_fix():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(2))

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_reassigning_a_parameter_with_a_plain_value_unregisters_it(net):
    net.encoder.scale = None
    assert "encoder.scale" not in dict(net.named_parameters())
    del net.encoder.inner
    assert "encoder.inner.weight" not in net.state_dict()


def test_parameter_is_a_leaf_tensor_and_ops_give_plain_tensors():
    p = nn.Parameter([1.0, 2.0])
    assert isinstance(p, minigrad.Tensor) and p.requires_grad and p.dtype == np.float64
    y = p * 2
    assert type(y) is minigrad.Tensor
    assert nn.Parameter(np.zeros(2, np.float32)).dtype == np.float32
    assert nn.Parameter([1, 2]).dtype == np.float64  # integers in a list become floats, as in minigrad.tensor
    source = np.ones(2)
    copied = nn.Parameter(minigrad.tensor(source))
    source[0] = 5.0
    assert copied.data[0] == 1.0  # the values are copied
    assert repr(p).startswith("Parameter containing:")


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        nn.Module()(1)


# ------------------------------------------------------------------------------- layers
def test_linear_computes_x_w_transpose_plus_b_and_passes_gradcheck():
    rng = np.random.default_rng(2)
    layer = nn.Linear(3, 2, rng=rng)
    x = minigrad.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    np.testing.assert_allclose(layer(x).data, x.data @ layer.weight.data.T + layer.bias.data)
    assert minigrad.gradcheck(lambda x, w, b: layer(x), x, layer.weight, layer.bias)
    assert nn.Linear(3, 2, bias=False, rng=rng)(x).shape == (4, 2)


def test_linear_default_init_is_pytorchs_bound():
    layer = nn.Linear(16, 50, rng=np.random.default_rng(3))
    bound = 1 / np.sqrt(16)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.weight.data).max() > 0.9 * bound
    assert np.abs(layer.bias.data).max() <= bound


def test_linear_rejects_wrong_input_size():
    with pytest.raises(ValueError, match="in_features=3.*shape \\(2, 5\\)"):
        nn.Linear(3, 2)(minigrad.ones(2, 5))


def test_embedding_looks_up_rows_and_accumulates_repeated_indices():
    rng = np.random.default_rng(4)
    emb = nn.Embedding(5, 3, rng=rng)
    idx = np.array([[1, 1], [4, 0]])
    out = emb(idx)
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.data[0, 1], emb.weight.data[1])
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad[:, 0], [1, 2, 0, 0, 1])
    assert minigrad.gradcheck(lambda w: emb(idx), emb.weight)


def test_dropout_scales_survivors_in_training_and_is_identity_in_eval():
    drop = nn.Dropout(0.25, rng=np.random.default_rng(5))
    x = minigrad.ones(400, 50)
    y = drop(x).data
    assert set(np.unique(y)) <= {0.0, 1 / 0.75}
    assert abs(y.mean() - 1.0) < 0.02
    assert abs((y == 0).mean() - 0.25) < 0.01
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x.data)
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.0)


def test_sequential_and_module_list():
    rng = np.random.default_rng(6)
    seq = nn.Sequential(nn.Linear(2, 3, rng=rng), nn.Linear(3, 1, rng=rng))
    x = minigrad.ones(1, 2)
    np.testing.assert_allclose(seq(x).data, seq[1](seq[0](x)).data)
    assert len(seq) == 2 and list(seq) == [seq[0], seq[1]]
    layers = nn.ModuleList([nn.Linear(2, 2, rng=rng)]).append(nn.Linear(2, 2, rng=rng))
    assert len(layers) == 2 and [n for n, _ in layers.named_parameters()][2] == "1.weight"
    with pytest.raises(TypeError, match="ModuleList holds Modules"):
        layers.append(3)


def test_training_a_linear_model_with_cross_entropy_reduces_the_loss():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((64, 2))
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    model = nn.Linear(2, 2, rng=rng)
    optimiser = minigrad.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for _ in range(30):
        optimiser.zero_grad()
        loss = F.cross_entropy(model(minigrad.Tensor(x)), y)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
