"""eSE, circular ECA, SimAM, coordinate and triplet attention (#14) against
their formulas written out in plain torch (against timm's layers: in
test_timm_equivalence.py)."""
import pytest
import torch
import torch.nn.functional as F
from helpers import (assert_gradients_match, assert_input_shape_checked,
                      assert_matches_reference, export_opset17_and_check,
                      randomise)
from reference_formulas import batch_norm

from mmattn.blocks import (CoordinateAttention, EfficientChannelAttention,
                           EffectiveSqueezeExcitation, SimAM,
                           TripletAttention)

SHAPES = [(2, 32, 7, 5), (1, 32, 1, 1), (1, 32, 3, 9), (3, 32, 16, 8)]


# ---------------------------------------------------------------- references
def reference_ese(block, x):
    """x * relu6(W s + b + 3) / 6, s the channel means (CenterMask eq.)."""
    s = x.mean(dim=(2, 3))
    z = s @ block.fc.weight[:, :, 0, 0].t() + block.fc.bias
    return x * (F.relu6(z + 3) / 6)[:, :, None, None]


def reference_circular_eca(block, x):
    """Gate of channel c = sum_j w[j] * y[(c - p + j) mod C]."""
    k = block.kernel_size
    p = (k - 1) // 2
    y = x.mean(dim=(2, 3))
    c = y.shape[1]
    index = (torch.arange(c)[:, None] - p + torch.arange(k)[None]) % c
    logits = (y[:, index] * block.conv.weight.view(k)).sum(-1)
    return x * torch.sigmoid(logits)[:, :, None, None]


def reference_simam(block, x):
    """Eq. 5-6 of SimAM, with n = max(HW - 1, 1)."""
    n = max(x.shape[2] * x.shape[3] - 1, 1)
    mu = x.mean(dim=(2, 3), keepdim=True)
    d = (x - mu) ** 2
    v = d.sum(dim=(2, 3), keepdim=True) / n
    energy_inverse = d / (4 * (v + block.e_lambda)) + 0.5
    return x * torch.sigmoid(energy_inverse)


def reference_coordinate(block, x):
    """Hou et al. Eq. 4-9, written per row and per column."""
    def hswish(t):
        return t * F.relu6(t + 3) / 6

    def fc(conv, t):  # (N, C_in, L) -> (N, C_out, L)
        w = conv.weight[:, :, 0, 0]
        out = torch.einsum('oc,ncl->nol', w, t)
        return out if conv.bias is None else out + conv.bias[:, None]
    h = x.shape[2]
    z = torch.cat([x.mean(dim=3), x.mean(dim=2)], dim=2)  # (N, C, H + W)
    f = fc(block.conv1, z)
    f = batch_norm(block.bn1, f[..., None])[..., 0]
    f = hswish(f)
    gate_rows = torch.sigmoid(fc(block.conv_h, f[:, :, :h]))  # (N, C, H)
    gate_cols = torch.sigmoid(fc(block.conv_w, f[:, :, h:]))  # (N, C, W)
    return x * gate_rows[:, :, :, None] * gate_cols[:, :, None, :]


def _zpool_gate(gate, t, axis):
    """Pool ``t`` over ``axis`` by max and mean, conv, BN, sigmoid; scale."""
    pooled = torch.stack([t.amax(dim=axis), t.mean(dim=axis)], dim=1)
    conv = gate.conv.conv
    logits = F.conv2d(pooled, conv.weight, padding=conv.padding)
    logits = batch_norm(gate.conv.bn, logits)[:, 0]  # (N, a, b)
    return t * torch.sigmoid(logits).unsqueeze(axis)


def reference_triplet(block, x):
    """The three branches without permutes: each pools a different axis."""
    cw = _zpool_gate(block.cw, x, axis=2)  # pool over H, gate on (C, W)
    # pool over W, gate on (H, C): the authors' permute gives (W, H, C),
    # whose gate map is indexed (H, C)
    pooled = torch.stack([x.amax(dim=3), x.mean(dim=3)], dim=1)  # N,2,C,H
    conv = block.hc.conv.conv
    logits = F.conv2d(pooled.transpose(2, 3), conv.weight,
                      padding=conv.padding)  # (N, 1, H, C)
    logits = batch_norm(block.hc.conv.bn, logits)[:, 0].transpose(1, 2)
    hc = x * torch.sigmoid(logits)[:, :, :, None]
    if block.hw is None:
        return (cw + hc) / 2
    hw = _zpool_gate(block.hw, x, axis=1)
    return (cw + hc + hw) / 3


BLOCKS = {
    'ese': (lambda c: EffectiveSqueezeExcitation(c), reference_ese),
    'ceca': (lambda c: EfficientChannelAttention(c, kernel_size=5,
                                                 padding_mode='circular'),
             reference_circular_eca),
    'simam': (lambda c: SimAM(c), reference_simam),
    'coord': (lambda c: CoordinateAttention(c), reference_coordinate),
    'coord_timm_form': (lambda c: CoordinateAttention(
        c, hidden_channels=8, bias=False), reference_coordinate),
    'triplet': (lambda c: TripletAttention(c), reference_triplet),
    'triplet_no_spatial': (lambda c: TripletAttention(c, kernel_size=3,
                                                      spatial=False),
                           reference_triplet),
}
CLASSES = [EffectiveSqueezeExcitation, EfficientChannelAttention, SimAM,
           CoordinateAttention, TripletAttention]


@pytest.mark.reference(blocks=CLASSES)
@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_formula(name, shape):
    assert_matches_reference(*BLOCKS[name], shape, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('name', list(BLOCKS))
def test_gradients_match_and_reach_every_parameter(name):
    assert_gradients_match(
        *BLOCKS[name], (3, 16, 6, 5), dict(rtol=1e-5, atol=1e-5),
        param_tol=dict(rtol=1e-4, atol=1e-5))


def test_simam_is_parameter_free_and_finite_on_1x1():
    block = SimAM(8)
    assert not list(block.parameters())
    out = block(torch.randn(2, 8, 1, 1))
    assert torch.isfinite(out).all()


def test_triplet_parameters_do_not_depend_on_channels():
    count = [sum(p.numel() for p in TripletAttention(c).parameters())
             for c in (8, 512)]
    assert count == [3 * (2 * 49 + 2)] * 2


@pytest.mark.parametrize('make, match', [
    (lambda: EffectiveSqueezeExcitation(0), 'in_channels'),
    (lambda: SimAM(8, e_lambda=0), 'e_lambda'),
    (lambda: CoordinateAttention(8, hidden_channels=0), 'hidden_channels'),
    (lambda: CoordinateAttention(8, reduction=0), 'reduction'),
    (lambda: CoordinateAttention(8, bias=1), 'bias'),
    (lambda: TripletAttention(8, kernel_size=4), 'kernel_size'),
    (lambda: TripletAttention(8, spatial='no'), 'spatial'),
    (lambda: EfficientChannelAttention(8, padding_mode='reflect'),
     'padding_mode'),
    (lambda: EfficientChannelAttention(2, kernel_size=7,
                                       padding_mode='circular'),
     'kernel_size must be <= 5'),
])
def test_bad_arguments_are_named(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


@pytest.mark.parametrize('name', ['ese', 'simam', 'coord', 'triplet'])
def test_bad_input_shape(name):
    assert_input_shape_checked(BLOCKS[name][0](8), 8, 6, ndim=True)


@pytest.mark.filterwarnings('ignore')
def test_circular_eca_exports_to_onnx(tmp_path):
    torch.manual_seed(0)
    block = randomise(BLOCKS['ceca'][0](16)).eval()
    export_opset17_and_check(block, tmp_path / 'ceca.onnx')
