"""mmattn.ops' pooling (deterministic backward, dynamic-size ONNX) against
the native PyTorch ops it replaces."""
import pytest
import torch
import torch.nn.functional as F

from mmattn.ops import (adaptive_avg_pool, adaptive_max_pool_strip,
                        global_max_pool)


def test_global_max_pool_matches_adaptive_max_pool():
    x = torch.randn(2, 8, 5, 7, requires_grad=True)  # no ties
    x2 = x.detach().clone().requires_grad_(True)
    g = torch.randn(2, 8, 1, 1)
    out, ref = global_max_pool(x), F.adaptive_max_pool2d(x2, 1)
    torch.testing.assert_close(out, ref)
    out.backward(g)
    ref.backward(g)
    torch.testing.assert_close(x.grad, x2.grad)


@pytest.mark.parametrize('size', [(7, 5), (16, 16), (2, 3), (1, 1)])
def test_exportable_pooling_is_adaptive_avg_pool(size):
    x = torch.randn(2, 3, 11, 6)
    torch.testing.assert_close(adaptive_avg_pool(x, size),
                               F.adaptive_avg_pool2d(x, size))


@pytest.mark.parametrize('dim', [2, 3])
@pytest.mark.parametrize('in_size, out_size', [((11, 6), 7), ((3, 5), 7),
                                               ((14, 21), 7), ((1, 1), 3)])
def test_strip_max_pool_is_adaptive_max_pool(in_size, out_size, dim):
    """Bins of rows (dim 2) or columns (dim 3), overlapping or repeating a
    position when the map is smaller than the strip; gradients too (random
    inputs: no ties)."""
    x = torch.randn(2, 3, *in_size, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    size = (out_size, 1) if dim == 2 else (1, out_size)
    out = adaptive_max_pool_strip(x, out_size, dim)
    ref = F.adaptive_max_pool2d(x2, size)
    torch.testing.assert_close(out, ref)
    g = torch.randn_like(ref)
    out.backward(g)
    ref.backward(g)
    torch.testing.assert_close(x.grad, x2.grad)


def test_strip_max_pool_names_a_bad_dim():
    with pytest.raises(ValueError, match=r'dim must be 2 .* or 3 .*got 1'):
        adaptive_max_pool_strip(torch.randn(1, 1, 2, 2), 2, dim=1)
