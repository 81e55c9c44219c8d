"""ObjectContext (OCR) and SpatialGather against their formulas in plain
torch."""
import pytest
import torch
import torch.nn.functional as F

from mmattn.blocks import ObjectContext, SpatialGather
from helpers import randomise

# (N, C, K, H, W): odd, non-square, batch 1, one object, one position.
SHAPES = [(2, 6, 3, 5, 7), (1, 6, 4, 8, 8), (1, 6, 1, 9, 4),
          (3, 6, 5, 1, 1)]


def reference_gather(x, logits, scale=1.0):
    """f_k = sum_i softmax_i(scale * logits_k)_i x_i, as (N, C, K, 1)."""
    regions = F.softmax(scale * logits.flatten(2), dim=2)  # (N, K, P)
    return torch.einsum('nkp,ncp->nck', regions, x.flatten(2)).unsqueeze(3)


def reference_object_context(block, x, logits, scale=1.0):
    """The paper's object attention, softmax(q k^T / sqrt(D)) materialised.
    """
    n, _, h, w = x.shape
    objects = reference_gather(x, logits, scale)
    q = block.query_project(x).flatten(2)  # (N, D, P)
    k = block.key_project(objects).flatten(2)  # (N, D, K)
    v = block.value_project(objects).flatten(2)
    weights = F.softmax(
        torch.einsum('ndp,ndk->npk', q, k) / block.channels**0.5, dim=-1)
    y = torch.einsum('npk,ndk->ndp', weights, v).reshape(n, -1, h, w)
    return block.bottleneck(torch.cat([block.out_project(y), x], dim=1))


def _block(c=6, d=4, norm_cfg=dict(type='BN'), **kwargs):
    torch.manual_seed(0)
    return randomise(ObjectContext(c, d, norm_cfg=norm_cfg, **kwargs))


@pytest.mark.parametrize('scale', [1.0, 0.5, 0, -1.0, 3])
def test_spatial_gather_formula(scale):
    x, logits = torch.randn(2, 5, 4, 7), torch.randn(2, 3, 4, 7)
    torch.testing.assert_close(SpatialGather(scale)(x, logits),
                               reference_gather(x, logits, scale))


def test_spatial_gather_zero_scale_averages_positions():
    x = torch.randn(2, 5, 4, 7)
    objects = SpatialGather(0)(x, torch.randn(2, 3, 4, 7))
    torch.testing.assert_close(
        objects, x.mean(dim=(2, 3))[:, :, None, None].expand(-1, -1, 3, 1))


# BatchNorm cannot train on a single object representation (N * K == 1).
@pytest.mark.parametrize('n, c, k, h, w, train',
                         [s + (False, ) for s in SHAPES] +
                         [s + (True, ) for s in SHAPES if s[0] * s[2] > 1])
def test_matches_formula_with_gradients(n, c, k, h, w, train):
    block = _block(c).train(train)
    x = torch.randn(n, c, h, w, requires_grad=True)
    logits = torch.randn(n, k, h, w, requires_grad=True)
    out = block(x, logits)
    assert out.shape == x.shape
    ours = torch.autograd.grad(out.square().sum(),
                               [x, logits, *block.parameters()])
    expected = reference_object_context(block, x, logits)
    theirs = torch.autograd.grad(expected.square().sum(),
                                 [x, logits, *block.parameters()])
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_region_scale_and_no_norm():
    block = _block(norm_cfg=None, region_scale=-0.5).eval()
    x, logits = torch.randn(2, 6, 5, 3), torch.randn(2, 3, 5, 3)
    torch.testing.assert_close(
        block(x, logits),
        reference_object_context(block, x, logits, scale=-0.5),
        rtol=1e-5, atol=1e-5)


def test_previous_logits_receive_gradient():
    """The regions are not detached: the second stage trains the first."""
    block = _block().eval()
    logits = torch.randn(1, 3, 4, 4, requires_grad=True)
    block(torch.randn(1, 6, 4, 4), logits).sum().backward()
    assert logits.grad.abs().sum() > 0


@pytest.mark.parametrize('dtype, tolerance',
                         [(torch.bfloat16, 0.1), (torch.float16, 0.02)])
def test_autocast_large_inputs_finite_and_close(dtype, tolerance):
    """Inputs of magnitude 1e2 at 64x64 with no norm layers: the object
    attention's logits pass fp16's 65504 (a half-precision q k^T gives NaN
    here), yet the result is finite and near fp32. bf16 keeps 8 bits, so
    some pixels pick another object: the bound is on the relative norm."""
    block = _block(32, 16, norm_cfg=None).eval()
    torch.manual_seed(1)
    x = 100 * torch.randn(1, 32, 64, 64)
    logits = 100 * torch.randn(1, 5, 64, 64)
    with torch.no_grad():
        expected = block(x, logits)
        with torch.autocast('cpu', dtype=dtype):
            out = block(x, logits)
    assert out.dtype == dtype
    assert torch.isfinite(out).all()
    error = (out.float() - expected).norm() / expected.norm()
    assert error < tolerance, error


def test_constructor_errors_name_the_argument():
    with pytest.raises(ValueError, match='in_channels'):
        ObjectContext(0, 4)
    with pytest.raises(ValueError, match='channels'):
        ObjectContext(6, 2.5)
    with pytest.raises(ValueError, match='region_scale'):
        ObjectContext(6, 4, region_scale=float('nan'))
    with pytest.raises(ValueError, match='region_scale'):
        ObjectContext(6, 4, region_scale=True)
    with pytest.raises(ValueError, match='scale'):
        SpatialGather(float('inf'))


def test_input_errors_name_the_argument():
    block = ObjectContext(6, 4)
    x = torch.randn(2, 6, 5, 7)
    with pytest.raises(ValueError, match=r'x must have shape \(N, 6, H, W\)'):
        block(torch.randn(2, 5, 5, 7), torch.randn(2, 3, 5, 7))
    for bad in [torch.randn(2, 3, 5, 6), torch.randn(1, 3, 5, 7),
                torch.randn(2, 3, 35), torch.randn(2, 0, 5, 7)]:
        with pytest.raises(ValueError, match='logits must have shape'):
            block(x, bad)
    with pytest.raises(ValueError, match='logits must have shape'):
        SpatialGather()(x, torch.randn(2, 3, 7, 5))


def test_onnx_export_dynamic_size_and_objects(tmp_path):
    """Opset 17 with symbolic H, W and K; onnxruntime matches at other
    sizes and another number of objects."""
    pytest.importorskip('onnx')
    ort = pytest.importorskip('onnxruntime')
    block = _block().eval()
    path = str(tmp_path / 'object_context.onnx')
    torch.onnx.export(block, (torch.randn(2, 6, 8, 8),
                              torch.randn(2, 3, 8, 8)),
                      path, dynamo=False, opset_version=17,
                      input_names=['x', 'logits'], output_names=['y'],
                      dynamic_axes={'x': {2: 'h', 3: 'w'},
                                    'logits': {1: 'k', 2: 'h', 3: 'w'},
                                    'y': {2: 'h', 3: 'w'}})
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    for k, h, w in [(5, 9, 13), (2, 20, 6)]:
        x, logits = torch.randn(2, 6, h, w), torch.randn(2, k, h, w)
        out = session.run(None, {'x': x.numpy(), 'logits': logits.numpy()})
        with torch.no_grad():
            torch.testing.assert_close(torch.from_numpy(out[0]),
                                       block(x, logits),
                                       rtol=1e-4, atol=1e-4)
