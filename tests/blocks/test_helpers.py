"""The pooling and resizing kernels the blocks share
(mmattn/blocks/_helpers.py) against the native PyTorch ops they replace."""
import pytest
import torch
import torch.nn.functional as F

from mmattn.blocks._helpers import (adaptive_avg_pool,
                                    bilinear_resize_by_matmul,
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


@pytest.mark.parametrize('size_in, size_out', [
    ((1, 1), (5, 7)), ((3, 5), (9, 13)), ((4, 4), (8, 8)), ((9, 7), (4, 3)),
    ((5, 6), (5, 6)), ((1, 4), (3, 9)), ((4, 6), (1, 1)), ((7, 3), (1, 5))])
@pytest.mark.parametrize('align_corners', [False, True])
def test_matmul_bilinear_resize_is_interpolate(size_in, size_out,
                                               align_corners):
    """The form the blocks use in CUDA deterministic mode (where the
    bilinear upsampling backward raises): same values and gradients as
    ``F.interpolate(..., 'bilinear', align_corners)``."""
    x = torch.randn(2, 3, *size_in, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    out = bilinear_resize_by_matmul(x, size_out, align_corners)
    ref = F.interpolate(x2, size=size_out, mode='bilinear',
                        align_corners=align_corners)
    torch.testing.assert_close(out, ref)
    grad = torch.randn_like(ref)
    out.backward(grad)
    ref.backward(grad)
    torch.testing.assert_close(x.grad, x2.grad)
