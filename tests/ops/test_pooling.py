"""mmattn.ops' pooling (deterministic backward, dynamic-size ONNX) against
the native PyTorch ops it replaces."""
import pytest
import torch
import torch.nn.functional as F

from mmattn.ops import adaptive_avg_pool, global_max_pool


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
