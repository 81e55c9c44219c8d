"""GlobalSecondOrderPooling (GSoP-Net) against its formula written out in
plain torch (an explicit centring matrix and row-wise convolution)."""
import pytest
import torch
import torch.nn.functional as F
from reference_formulas import batch_norm, conv_module

import mmattn  # noqa: F401  (registers the mmattn.* names)
from mmattn.blocks import GlobalSecondOrderPooling
from conftest import (assert_deterministic, assert_matches_reference,
                      build_resnet50, export_opset17_and_check, randomise)

SHAPES = [(2, 16, 7, 5), (1, 16, 1, 1), (1, 16, 3, 9), (3, 16, 3, 5),
          (2, 16, 9, 13)]


# ---------------------------------------------------------------- references
def reference_gsop(block, x):
    """Gao et al.: relu -> 1x1 conv -> BN -> relu; Sigma = (1/M) X I_bar X^T
    with the M x M centring matrix I_bar = I - 11^T / M; BN over rows;
    row i -> 4 numbers by its own (d, 1) kernel; 1x1 conv; sigmoid."""
    n, c, h, w = x.shape
    z = conv_module(block.reduce, F.relu(x)).flatten(2)  # (N, d, M)
    m = h * w
    centring = torch.eye(m) - torch.ones(m, m) / m
    cov = z @ centring @ z.transpose(1, 2) / m  # (N, d, d)
    cov = batch_norm(block.row_norm, cov)  # dim 1 = rows
    d = block.cov_channels
    e = block.expansion
    weight = block.row_conv.weight.view(d, e, d)  # [row, out, column]
    rows = torch.einsum('iej,nij->nie', weight, cov).reshape(n, d * e)
    rows = rows + block.row_conv.bias
    a = torch.sigmoid(rows @ block.fc.weight.flatten(1).t() + block.fc.bias)
    return x * a[:, :, None, None]


BLOCKS = {
    'gsop': (lambda c: GlobalSecondOrderPooling(c), reference_gsop),
    'gsop_d8_e2': (lambda c: GlobalSecondOrderPooling(
        c, cov_channels=8, expansion=2), reference_gsop),
}


# ------------------------------------------------------------------ formulas
@pytest.mark.reference(blocks=[GlobalSecondOrderPooling])
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-4,
                             atol=1e-5)


@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name):
    torch.manual_seed(0)
    make, reference = BLOCKS[name]
    block = randomise(make(16)).train()  # BN on batch statistics
    x = torch.randn(3, 16, 6, 7, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    out = block(x)
    ref = reference(block, x2)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
    out.square().sum().backward()
    grads = {n: p.grad.clone() for n, p in block.named_parameters()}
    block.zero_grad()
    ref.square().sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-4, atol=1e-5)
    # a conv followed by a one-channel BN gets a gradient that is a
    # cancellation of much larger terms: compare on the scale of them all
    scale = max(g.abs().max() for g in grads.values())
    for n, p in block.named_parameters():
        # DDP without find_unused_parameters needs every one used
        assert grads[n].abs().sum() > 0, n
        torch.testing.assert_close(grads[n], p.grad, rtol=1e-3,
                                   atol=1e-5 * scale, msg=n)


def test_gsop_structure():
    block = GlobalSecondOrderPooling(256)
    assert block.cov_channels == 128  # the paper's d
    assert block.row_conv.groups == 128
    assert block.row_conv.weight.shape == (512, 1, 128, 1)
    assert block.fc.weight.shape == (256, 512, 1, 1)
    assert GlobalSecondOrderPooling(64).cov_channels == 64  # d <= C


# ------------------------------------------------------- autocast, determinism
@pytest.mark.parametrize('name', ['gsop'])
def test_bf16_autocast_large_inputs_stay_finite(name):
    torch.manual_seed(0)
    block = BLOCKS[name][0](16).eval()
    x = 100 * torch.randn(2, 16, 12, 10)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = block(x)
    assert torch.isfinite(out).all()
    ref = block(x)
    assert (out.float() - ref).abs().max() / ref.abs().max() < 0.05


def test_deterministic_mode():
    assert_deterministic(BLOCKS)


# ------------------------------------------------------------ bad arguments
G = GlobalSecondOrderPooling


@pytest.mark.parametrize('cls, kwargs, match', [
    (G, dict(in_channels=0), r'in_channels.*got 0'),
    (G, dict(in_channels=16, cov_channels=32),
     r'cov_channels.*<= in_channels \(16\).*got 32'),
    (G, dict(in_channels=16, cov_channels=0), r'cov_channels.*got 0'),
    (G, dict(in_channels=16, expansion=0), r'expansion.*got 0'),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize('name', ['gsop'])
def test_bad_input_shape(name):
    block = BLOCKS[name][0](16)
    with pytest.raises(ValueError, match=r'\(N, 16, H, W\).*\(1, 8, 4, 4\)'):
        block(torch.randn(1, 8, 4, 4))


# ------------------------------------------------------------------ plugins
@pytest.mark.parametrize('scope, cfg', [
    ('mmseg', dict(type='mmattn.GlobalSecondOrderPooling')),
    ('mmdet', dict(type='mmattn.GlobalSecondOrderPooling')),
])
def test_plugin_in_resnet(scope, cfg):
    cls = mmattn.registry.MODELS.get(cfg['type'].split('.')[1])
    model = build_resnet50(scope, norm_cfg=dict(type='BN'), plugins=[
        dict(cfg=cfg, stages=(False, True, False, False),
             position='after_conv3'),
        dict(cfg=dict(cfg, postfix='_c2'), stages=(True, False, False, False),
             position='after_conv2')])
    model.train()
    plugin = getattr(model.layer2[0], cls._abbr_)
    assert type(plugin) is cls and plugin.in_channels == 512
    assert getattr(model.layer1[0], cls._abbr_ + '_c2').in_channels == 64
    assert model.layer2[0].after_conv3_plugin_names == [cls._abbr_]
    assert not hasattr(model.layer3[0], cls._abbr_)
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [256, 512, 1024, 2048]
    sum(o.mean() for o in outs).backward()
    assert all(p.grad is not None for p in plugin.parameters())


# -------------------------------------------------------------------- ONNX
@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('name', list(BLOCKS))
def test_onnx_export_opset17_dynamic_hw(name, tmp_path):
    torch.manual_seed(0)
    block = randomise(BLOCKS[name][0](16)).eval()
    export_opset17_and_check(block, tmp_path / f'{name}.onnx')
