"""SalientPositionAttention against the mechanism written out in plain
torch."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmattn.blocks import SalientPositionAttention


def reference_forward(block, x):
    """The SPANet mechanism from its formula, independent of mmattn.ops."""
    n, c, h, w = x.shape
    theta = block.theta(x).flatten(2)  # (N, C', P)
    k = min(block.num_positions(h, w), h * w)
    saliency = (theta**2).sum(1)  # (N, P)
    # descending saliency, lower position first among equals
    order = torch.sort(saliency, dim=1, descending=True, stable=True)[1]
    idx = order[:, :k]
    s = torch.gather(theta, 2, idx[:, None].expand(-1, theta.size(1), -1))
    energy = s @ s.transpose(1, 2)
    if block.use_scale:
        energy = energy / k**0.5
    a = torch.softmax(energy, dim=-1)
    g = block.g(x)
    y = (a @ g.flatten(2)).view(n, -1, *g.shape[2:])
    y = block.W(y)
    if block.sub_sample:
        y = F.interpolate(y, size=(h, w), mode='bilinear', align_corners=True)
    return x + y


def _randomise_norm(block):
    norm = block.W[-1]
    if isinstance(norm, nn.BatchNorm2d):
        with torch.no_grad():
            norm.running_mean.uniform_(-0.5, 0.5)
            norm.running_var.uniform_(0.5, 2.0)
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)


SHAPES = [(2, 16, 7, 9), (1, 8, 1, 1), (1, 8, 2, 3), (3, 12, 16, 8)]
OPTIONS = [
    dict(), dict(k=3), dict(adaptive=True, k_divisor=4),
    dict(hidden_channels=5, k=20), dict(sub_sample=True),
    dict(k=4, use_scale=True)
]


@pytest.mark.reference(blocks=[SalientPositionAttention])
@pytest.mark.parametrize('shape, kwargs', [
    (shape, kwargs) for shape in SHAPES for kwargs in OPTIONS
    # sub-sampling needs at least 2x2 maps (a 1x1 map is a ValueError)
    if not (kwargs.get('sub_sample') and min(shape[2:]) < 2)
])
def test_matches_formula(shape, kwargs):
    torch.manual_seed(0)
    block = SalientPositionAttention(shape[1], **kwargs)
    _randomise_norm(block)
    block.eval()
    x = torch.randn(*shape)
    out = block(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, reference_forward(block, x),
                               rtol=1e-5, atol=1e-5)


def test_gradients_match_and_reach_every_parameter():
    torch.manual_seed(0)
    block = SalientPositionAttention(8, k=4).train()
    x = torch.randn(2, 8, 5, 6, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    block(x).square().sum().backward()
    grads = {n: p.grad.clone() for n, p in block.named_parameters()}
    block.zero_grad()
    reference_forward(block, x2).square().sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-5, atol=1e-5)
    for name, p in block.named_parameters():
        assert grads[name] is not None, name  # DDP needs every one used
        # W.0.bias feeds a BatchNorm, so its true gradient is 0: compare
        # against the scale of the block's gradients, not each tensor's own
        scale = max(g.abs().max().item() for g in grads.values())
        torch.testing.assert_close(grads[name], p.grad, rtol=1e-5,
                                   atol=1e-6 * scale, msg=name)


def test_loads_reference_state_dict_and_ignores_phi():
    block = SalientPositionAttention(8, sub_sample=True)
    state = {k: torch.randn_like(v) if v.is_floating_point() else v
             for k, v in block.state_dict().items()}
    assert 'g.0.weight' in state and 'W.0.weight' in state
    state['phi.0.weight'] = torch.randn(4, 8, 1, 1)
    state['phi.0.bias'] = torch.randn(4)
    block.load_state_dict(state, strict=True)
    torch.testing.assert_close(block.theta.weight, state['theta.weight'])


def test_adaptive_k_does_not_change_the_module():
    block = SalientPositionAttention(4, adaptive=True, k_divisor=4).eval()
    _, info = block(torch.randn(1, 4, 4, 8), return_attention=True)
    assert info['indices'].shape == (1, 8)
    assert info['affinity'].shape == (1, 2, 2)
    _, info = block(torch.randn(1, 4, 2, 2), return_attention=True)
    assert info['indices'].shape == (1, 1)
    assert block.k == 8 and block.adaptive


def test_zero_init_is_identity():
    block = SalientPositionAttention(6, zero_init=True).train()
    x = torch.randn(2, 6, 5, 5)
    torch.testing.assert_close(block(x), x)
    block.W[-1].weight.sum().backward()  # still trainable
    nobn = SalientPositionAttention(6, norm_cfg=None, zero_init=True)
    torch.testing.assert_close(nobn(x), x)


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_autocast_softmax_in_float32(dtype):
    torch.manual_seed(0)
    block = SalientPositionAttention(16, k=4).eval()
    x = torch.randn(1, 16, 8, 8) * 100  # energies far past fp16's 65504
    with torch.autocast('cpu', dtype=dtype):
        out, info = block(x, return_attention=True)
    assert info['affinity'].dtype == torch.float32
    assert torch.isfinite(out).all()
    ref = block(x)
    assert (out.float() - ref).abs().max() / ref.abs().max() < 0.05


@pytest.mark.parametrize('kwargs, match', [
    (dict(in_channels=0), 'in_channels'),
    (dict(in_channels=4, k=0), 'k'),
    (dict(in_channels=4, k=2.5), 'k'),
    (dict(in_channels=4, k_divisor=0), 'k_divisor'),
    (dict(in_channels=4, hidden_channels=-1), 'hidden_channels'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SalientPositionAttention(**kwargs)


def test_flags_must_be_bools():
    with pytest.raises(TypeError, match='use_scale must be a bool'):
        SalientPositionAttention(4, use_scale=1)


def test_use_scale_divides_the_energies_by_sqrt_k():
    torch.manual_seed(0)
    plain = SalientPositionAttention(8, k=4).eval()
    scaled = SalientPositionAttention(8, k=4, use_scale=True).eval()
    scaled.load_state_dict(plain.state_dict())  # no parameter of its own
    with torch.no_grad():
        plain.theta.weight.mul_(3.0)  # large energies: the plain one saturates
        scaled.theta.weight.mul_(3.0)
    x = torch.randn(2, 8, 6, 6)
    a_plain = plain(x, return_attention=True)[1]['affinity']
    a_scaled = scaled(x, return_attention=True)[1]['affinity']
    # softmax(e / 2) is softmax(e) at a higher temperature: less peaked rows
    assert (a_scaled.amax(-1) <= a_plain.amax(-1) + 1e-6).all()
    assert not torch.allclose(a_scaled, a_plain)


def test_bad_input_shape():
    block = SalientPositionAttention(4)
    with pytest.raises(ValueError, match=r'\(N, 4, H, W\)'):
        block(torch.randn(1, 3, 4, 4))
    with pytest.raises(ValueError, match='x must have shape'):
        block(torch.randn(4, 4, 4))
    with pytest.raises(ValueError, match='sub_sample'):
        SalientPositionAttention(4, sub_sample=True)(torch.randn(1, 4, 1, 5))


def test_compile_fullgraph():
    block = SalientPositionAttention(8, k=4).eval()
    x = torch.randn(2, 8, 6, 7)
    compiled = torch.compile(block, fullgraph=True, backend='aot_eager')
    torch.testing.assert_close(compiled(x), block(x))


def test_onnx_export_with_dynamic_size(tmp_path):
    import warnings

    import onnxruntime as ort

    from mmattn.ops.salient import onnx_translation_table
    torch.manual_seed(0)
    block = SalientPositionAttention(16, k=4).eval()
    path = str(tmp_path / 'spa.onnx')
    dims = {2: torch.export.Dim('h', min=1, max=512),
            3: torch.export.Dim('w', min=2, max=512)}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(block, (torch.randn(1, 16, 9, 13), ), path,
                          dynamo=True, dynamic_shapes=(dims, ),
                          custom_translation_table=onnx_translation_table())
    session = ort.InferenceSession(path)
    name = session.get_inputs()[0].name
    # 1x3 has fewer positions than k: min(k, H*W) is computed in the graph
    for shape in [(1, 16, 9, 13), (1, 16, 20, 6), (1, 16, 1, 3)]:
        x = torch.randn(*shape)
        out = session.run(None, {name: x.numpy()})[0]
        with torch.no_grad():
            torch.testing.assert_close(torch.from_numpy(out), block(x),
                                       rtol=1e-4, atol=1e-4)
