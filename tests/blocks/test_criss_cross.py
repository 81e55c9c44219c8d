"""CrissCrossAttention against mmcv's module and the paper's formula."""
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from mmattn.blocks import CrissCrossAttention
from helpers import (assert_input_shape_checked, export_opset17_and_check,
                      randomise)

SHAPES = [(2, 16, 7, 9), (1, 16, 1, 5), (1, 16, 5, 1), (1, 16, 16, 16),
          (2, 16, 1, 1), (1, 24, 4, 3)]


def _mmcv_pair(channels):
    """mmcv's module with random weights and ours with its state dict."""
    from mmcv.ops import CrissCrossAttention as MMCVCrissCrossAttention
    theirs = randomise(MMCVCrissCrossAttention(channels))
    assert theirs.gamma.scale.item() != 0  # the attention path counts
    ours = CrissCrossAttention(channels)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


def reference_criss_cross(block, x):
    """The paper's formula, one position at a time."""
    def conv(layer):
        return torch.einsum('oc,nchw->nohw', layer.weight.flatten(1),
                            x) + layer.bias.view(1, -1, 1, 1)

    q, k, v = conv(block.query_conv), conv(block.key_conv), \
        conv(block.value_conv)
    n, c, height, width = x.shape
    out = torch.empty_like(x)
    for b in range(n):
        for h in range(height):
            for w in range(width):
                # column without u itself, then the whole row (u once)
                rows = [i for i in range(height) if i != h]
                keys = torch.cat([k[b, :, rows, w], k[b, :, h, :]], dim=1)
                values = torch.cat([v[b, :, rows, w], v[b, :, h, :]], dim=1)
                weights = torch.softmax(q[b, :, h, w] @ keys, dim=0)
                out[b, :, h, w] = values @ weights
    return block.gamma.scale * out + x


# ------------------------------------------------------------- equivalence
@pytest.mark.parametrize('shape', SHAPES)
def test_equals_mmcv_outputs_and_gradients(shape):
    torch.manual_seed(0)
    ours, theirs = _mmcv_pair(shape[1])
    x = torch.randn(*shape, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    out, ref = ours(x), theirs(x2)
    assert out.shape == x.shape
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)
    g = torch.randn_like(out)
    out.backward(g)
    ref.backward(g)
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-4, atol=1e-4)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, theirs_params[name].grad,
                                   rtol=1e-4, atol=1e-4, msg=name)


def test_same_init_and_keys_as_mmcv():
    from mmcv.ops import CrissCrossAttention as MMCVCrissCrossAttention
    torch.manual_seed(3)
    theirs = MMCVCrissCrossAttention(32).state_dict()
    torch.manual_seed(3)
    ours = CrissCrossAttention(32).state_dict()
    assert list(ours) == list(theirs)
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key


@pytest.mark.reference(blocks=[CrissCrossAttention])
@pytest.mark.parametrize('shape, reduction', [((2, 16, 3, 4), 8),
                                              ((1, 8, 5, 2), 4),
                                              ((1, 8, 1, 3), 2)])
def test_matches_the_papers_formula(shape, reduction):
    torch.manual_seed(0)
    block = randomise(CrissCrossAttention(shape[1], reduction=reduction))
    assert block.query_conv.out_channels == shape[1] // reduction
    x = torch.randn(*shape)
    torch.testing.assert_close(block(x), reference_criss_cross(block, x),
                               rtol=1e-5, atol=1e-5)


def test_gradcheck_float64():
    torch.manual_seed(0)
    block = randomise(CrissCrossAttention(8, reduction=4)).double()
    x = torch.randn(2, 8, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(block, (x, ))


def test_attention_weights_count_each_position_once():
    torch.manual_seed(0)
    h, w = 5, 6
    query, key = torch.randn(2, h, w, 3), torch.randn(2, h, w, 3)
    weights = CrissCrossAttention.attention_weights(query, key)
    assert weights.shape == (2, h, w, h + w)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, h, w))
    column = weights[..., :h]  # column[n, y, x, i]: key (i, x)
    self_weight = column.diagonal(dim1=1, dim2=3)  # i == y
    assert torch.equal(self_weight, torch.zeros_like(self_weight))
    assert (weights[..., h:] > 0).all()  # the row keeps u


# --------------------------------------------------------------- behaviour
def test_starts_as_identity_and_learns():
    torch.manual_seed(0)
    block = CrissCrossAttention(16)
    assert block.gamma.scale.item() == 0
    x = torch.randn(2, 16, 6, 5)
    out = block(x)
    assert torch.equal(out, x)
    out.square().sum().backward()
    assert block.gamma.scale.grad.abs() > 0


def test_memory_is_linear_in_h_plus_w():
    """No tensor of P x P (or any other) size above the energies' and the
    projections' is ever created, forward or backward."""

    class LargestTensor(TorchDispatchMode):
        largest = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in (out if isinstance(out, (tuple, list)) else [out]):
                if isinstance(t, torch.Tensor):
                    self.largest = max(self.largest, t.numel())
            return out

    n, c, h, w = 2, 8, 16, 24
    p = h * w
    block = randomise(CrissCrossAttention(c, reduction=4))
    x = torch.randn(n, c, h, w, requires_grad=True)
    with LargestTensor() as mode:
        block(x).sum().backward()
    assert mode.largest <= n * p * (h + w) < n * p * p


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_cpu_autocast_large_inputs_stay_finite_and_close(dtype):
    torch.manual_seed(0)
    block = randomise(CrissCrossAttention(8, reduction=2))
    x = 100 * torch.randn(2, 8, 64, 64)
    with torch.no_grad():
        ref = block(x)
        query, key, _ = block._project(x)
        with torch.autocast('cpu', dtype=dtype):
            out = block(x)
            # the energies are factored in float32, not in the autocast dtype
            q16, k16, value = block._project(x)
            weights = block.attention_weights(q16, k16)
    assert q16.dtype == torch.float32 and value.dtype == dtype
    assert weights.dtype == torch.float32
    # energies of this size overflow float16 and are far off in bfloat16
    energies = (query * key).sum(-1)
    assert energies.abs().max() > 1e4
    assert torch.isfinite(out).all()
    assert out.dtype == torch.float32  # gamma * out + x follows x
    tol = 5e-3 * ref.abs().max().item()
    torch.testing.assert_close(out, ref, rtol=0, atol=tol)


def test_channels_last_input():
    torch.manual_seed(0)
    block = randomise(CrissCrossAttention(16))
    x = torch.randn(2, 16, 5, 7)
    torch.testing.assert_close(
        block(x.contiguous(memory_format=torch.channels_last)), block(x))


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize('kwargs, match', [
    (dict(in_channels=0), r'in_channels.*got 0'),
    (dict(in_channels=16.0), r'in_channels.*got 16\.0'),
    (dict(in_channels=16, reduction=0), r'reduction.*got 0'),
    (dict(in_channels=4), r'reduction.*<= in_channels \(4\).*got 8'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CrissCrossAttention(**kwargs)


def test_bad_input_shape():
    assert_input_shape_checked(CrissCrossAttention(16), 16, 8, ndim=True)


# -------------------------------------------------------------------- ONNX
@pytest.mark.filterwarnings('ignore')
def test_onnx_export_opset17_dynamic_hw(tmp_path):
    torch.manual_seed(0)
    block = randomise(CrissCrossAttention(16)).eval()
    export_opset17_and_check(block, tmp_path / 'cca.onnx')
