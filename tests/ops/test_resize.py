"""mmattn.ops' bilinear resize by matrix products against F.interpolate."""
import pytest
import torch
import torch.nn.functional as F

from mmattn.ops import bilinear_resize_by_matmul


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
