"""SASA against a naive loop of the paper's formula, and as the conv layer
that mmseg's and mmdet's ResNet build through ``dcn=``."""
import pytest
import torch
from mmengine.registry import init_default_scope

import mmattn  # noqa: F401  (registers the mmattn.* names)
from mmattn.blocks import StandAloneSelfAttentionConv
from helpers import build_resnet50, export_opset17_and_check, randomise

SASA = StandAloneSelfAttentionConv


# ---------------------------------------------------------------- reference
def reference_sasa(layer, x):
    """Ramachandran et al., eq. (2) and (3), one output pixel at a time:

    y_ij = sum over (a, b) in N_k(i, j) of
           softmax_ab(q_ij^T k_ab + q_ij^T r_{a-i, b-j}) v_ab

    per head, N_k the k x k neighbourhood (keys ``dilation`` apart) inside
    the image, r = [row embedding of a - i; column embedding of b - j];
    then s x s average pooling (windows clipped at the border)."""
    n, _, h, w = x.shape
    heads, d = layer.num_heads, layer.head_channels
    k, dil = layer.window_size, layer.dilation
    half = k // 2

    def project(conv):
        y = torch.einsum('oc,nchw->nohw', conv.weight.flatten(1), x)
        return y.view(n, heads, d, h, w)

    q, key, value = project(layer.query), project(layer.key), project(
        layer.value)
    out = torch.zeros(n, heads, d, h, w)
    for i in range(h):
        for j in range(w):
            logits, values = [], []
            for a in range(-half, half + 1):
                for b in range(-half, half + 1):
                    y, z = i + dil * a, j + dil * b
                    if not (0 <= y < h and 0 <= z < w):
                        continue  # outside the image: not a key at all
                    r = torch.cat([layer.row_embedding[a + half],
                                   layer.column_embedding[b + half]])
                    qij = q[:, :, :, i, j]  # (N, heads, d)
                    logits.append((qij * key[:, :, :, y, z]).sum(-1)
                                  + (qij * r).sum(-1))
                    values.append(value[:, :, :, y, z])
            weights = torch.softmax(torch.stack(logits, -1), dim=-1)
            out[:, :, :, i, j] = torch.einsum('nhm,nhmd->nhd', weights,
                                              torch.stack(values, 2))
    out = out.reshape(n, heads * d, h, w)
    s = layer.stride
    if s > 1:
        ho, wo = -(-h // s), -(-w // s)
        pooled = torch.zeros(n, heads * d, ho, wo)
        for i in range(ho):
            for j in range(wo):
                pooled[:, :, i, j] = out[:, :, s * i:s * i + s,
                                         s * j:s * j + s].mean(dim=(2, 3))
        out = pooled
    if layer.bias is not None:
        out = out + layer.bias.view(1, -1, 1, 1)
    return out


LAYERS = {
    'paper': dict(in_channels=16),  # 7x7, 8 heads of 2 channels
    'conv3x3_in_resnet': dict(in_channels=16, out_channels=16,
                              kernel_size=3, stride=1, padding=1,
                              dilation=1, bias=False),
    'stride2_dilation2': dict(in_channels=8, out_channels=16, kernel_size=3,
                              stride=2, padding=2, dilation=2, num_heads=2,
                              window_size=5),
    'window3_bias': dict(in_channels=16, out_channels=8, num_heads=2,
                         window_size=None, kernel_size=3, bias=True),
}
SHAPES = [(1, 1), (5, 6), (3, 9), (9, 4)]


@pytest.mark.reference(blocks=[StandAloneSelfAttentionConv])
@pytest.mark.parametrize('size', SHAPES)
@pytest.mark.parametrize('name', list(LAYERS))
def test_matches_naive_loop_of_the_paper(name, size):
    torch.manual_seed(0)
    layer = randomise(SASA(**LAYERS[name]))
    x = torch.randn(2, layer.in_channels, *size)
    out = layer(x)
    s = layer.stride
    assert out.shape == (2, layer.out_channels, -(-size[0] // s),
                         -(-size[1] // s))
    torch.testing.assert_close(out, reference_sasa(layer, x), rtol=1e-4,
                               atol=1e-5)


def test_one_pixel_attends_only_to_itself():
    """With H = W = 1 every other key is padding: masked, the softmax has
    one term and y = v exactly (zero-padded keys would still get weight
    exp(q . r))."""
    torch.manual_seed(0)
    layer = randomise(SASA(16))
    x = torch.randn(3, 16, 1, 1)
    torch.testing.assert_close(layer(x), layer.value(x))


def test_structure():
    layer = SASA(64, 128)
    assert layer.window_size == 7 and layer.num_heads == 8
    assert layer.head_channels == 16
    assert layer.row_embedding.shape == (7, 8)
    assert layer.column_embedding.shape == (7, 8)
    for conv in (layer.query, layer.key, layer.value):
        assert conv.bias is None and conv.kernel_size == (1, 1)
    assert layer.bias is None
    assert SASA(16, kernel_size=3, window_size=None).window_size == 3


def test_gradients_match_and_reach_every_parameter():
    torch.manual_seed(0)
    layer = randomise(SASA(**LAYERS['stride2_dilation2']))
    x = torch.randn(2, 8, 5, 7, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    out = layer(x)
    ref = reference_sasa(layer, x2)
    out.square().sum().backward()
    grads = {n: p.grad.clone() for n, p in layer.named_parameters()}
    layer.zero_grad()
    ref.square().sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-4, atol=1e-5)
    for n, p in layer.named_parameters():
        assert grads[n].abs().sum() > 0, n
        torch.testing.assert_close(grads[n], p.grad, rtol=1e-4, atol=1e-5,
                                   msg=n)


def test_deterministic_mode():
    torch.manual_seed(0)
    layer = randomise(SASA(**LAYERS['stride2_dilation2']))
    x = torch.randn(2, 8, 9, 7)
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        results = []
        for _ in range(2):
            layer.zero_grad()
            xi = x.clone().requires_grad_(True)
            out = layer(xi)
            out.square().sum().backward()
            results.append([out.detach(), xi.grad]
                           + [p.grad.clone() for p in layer.parameters()])
        for a, b in zip(*results):
            assert torch.equal(a, b)
    finally:
        torch.use_deterministic_algorithms(previous)


def test_bf16_autocast_large_inputs_stay_finite():
    torch.manual_seed(0)
    layer = SASA(16)
    x = 100 * torch.randn(2, 16, 9, 8)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = layer(x)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(in_channels=0), ValueError, r'in_channels.*got 0'),
    (dict(in_channels=16, out_channels=12), ValueError,
     r'out_channels \(12\).*num_heads \(8\).*even'),
    (dict(in_channels=16, out_channels=8), ValueError,
     r'out_channels \(8\).*num_heads \(8\).*even head width'),
    (dict(in_channels=16, kernel_size=4), ValueError,
     r'kernel_size.*odd.*got 4'),
    (dict(in_channels=16, kernel_size=3, padding=0), ValueError,
     r'padding.*None or dilation \* \(kernel_size - 1\) // 2 = 1.*got 0'),
    (dict(in_channels=16, kernel_size=3, dilation=2, padding=1), ValueError,
     r'padding.*= 2.*got 1'),
    (dict(in_channels=16, stride=0), ValueError, r'stride.*got 0'),
    (dict(in_channels=16, dilation=0), ValueError, r'dilation.*got 0'),
    (dict(in_channels=16, groups=32), ValueError,
     r'groups must be 1.*got 32'),
    (dict(in_channels=16, num_heads=0), ValueError, r'num_heads.*got 0'),
    (dict(in_channels=16, window_size=6), ValueError,
     r'window_size.*odd.*got 6'),
    (dict(in_channels=16, bias=1), TypeError, r'bias.*bool.*got 1'),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        SASA(**kwargs)


def test_bad_input_shape():
    with pytest.raises(ValueError, match=r'\(N, 16, H, W\).*\(1, 8, 4, 4\)'):
        SASA(16)(torch.randn(1, 8, 4, 4))


# --------------------------------------------------------- inside a ResNet
@pytest.mark.parametrize('scope', ['mmseg', 'mmdet'])
def test_built_by_resnet_dcn_slot(scope):
    """``dcn=`` + ``stage_with_dcn=`` replace conv2 of the chosen stages;
    mmseg's ResNetV1c-D8 passes dilation 2 and 4, mmdet's ResNet stride 2
    in the first block of a stage."""
    init_default_scope(scope)
    dcn = dict(type='mmattn.StandAloneSelfAttentionConv')
    if scope == 'mmseg':
        from mmseg.registry import MODELS
        cfg = dict(type='ResNetV1c', depth=50, strides=(1, 2, 1, 1),
                   dilations=(1, 1, 2, 4), dcn=dcn,
                   stage_with_dcn=(False, False, True, True))
    else:
        from mmdet.registry import MODELS
        cfg = dict(type='ResNet', depth=50, dcn=dcn,
                   stage_with_dcn=(False, False, True, True))
    plain_cfg = {k: v for k, v in cfg.items()
                 if k not in ('dcn', 'stage_with_dcn')}
    model = MODELS.build(dict(cfg, norm_cfg=dict(type='BN')))
    plain = MODELS.build(dict(plain_cfg, norm_cfg=dict(type='BN')))

    sasa = [m for m in model.modules() if isinstance(m, SASA)]
    assert len(sasa) == 6 + 3
    assert all(type(block.conv2) is SASA for block in model.layer3)
    assert type(model.layer2[0].conv2) is torch.nn.Conv2d
    first = model.layer3[0].conv2
    assert (first.in_channels, first.out_channels) == (256, 256)
    assert first.window_size == 7 and first.bias is None
    if scope == 'mmseg':
        assert first.dilation == 2 and model.layer4[0].conv2.dilation == 4
        assert first.stride == 1
    else:
        assert first.stride == 2 and first.dilation == 1

    model.train()
    # stride 32 (mmdet) or 8 with dilation 4 (mmseg): layer4 keeps 2x2 or
    # 5x5 positions, so every layer has keys besides the centre (with the
    # centre alone, keys and embeddings correctly get no gradient)
    x = torch.randn(2, 3, *((64, 64) if scope == 'mmdet' else (40, 40)))
    outs = model(x)
    with torch.no_grad():
        plain_outs = plain(x)
    assert [o.shape for o in outs] == [o.shape for o in plain_outs]
    sum(o.mean() for o in outs).backward()
    for layer in sasa:
        for name, p in layer.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_registered_name_and_odd_input_in_resnet():
    """Odd sizes: the stride-2 SASA gives ceil(H / 2), as the strided 3x3
    conv and the 1x1 downsample of the shortcut do, so the add works."""
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    model = MODELS.build(dict(
        type='ResNet', depth=50, norm_cfg=dict(type='BN'),
        dcn=dict(type='mmattn.StandAloneSelfAttentionConv', num_heads=4),
        stage_with_dcn=(False, True, False, False)))
    model.eval()
    assert model.layer2[0].conv2.num_heads == 4
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 75, 53))
    assert outs[1].shape[2:] == (10, 7)


@pytest.mark.parametrize('scope', ['mmseg', 'mmdet'])
def test_as_a_plugin(scope):
    """With out_channels=None and stride 1 the layer keeps the shape, so
    the same registration also serves ResNet's ``plugins=``."""
    model = build_resnet50(scope, norm_cfg=dict(type='BN'), plugins=[
        dict(cfg=dict(type='mmattn.StandAloneSelfAttentionConv'),
             stages=(False, True, False, False), position='after_conv2')])
    model.eval()
    plugin = model.layer2[1].sasa
    assert model.layer2[1].after_conv2_plugin_names == ['sasa']
    assert plugin.in_channels == plugin.out_channels == 128
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [256, 512, 1024, 2048]


# -------------------------------------------------------------------- ONNX
@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('name', ['paper', 'stride2_dilation2'])
def test_onnx_export_opset17_dynamic_hw(name, tmp_path):
    torch.manual_seed(0)
    kwargs = dict(LAYERS[name], in_channels=16)
    layer = randomise(SASA(**kwargs)).eval()
    export_opset17_and_check(layer, tmp_path / f'{name}.onnx')
