"""DANet's ChannelAttention against mmseg 1.2.2's CAM (state dicts loaded
strictly), its two forms' formulas, fp16/bf16 autocast, argument errors and
ONNX export."""
import copy

import pytest
import torch
from mmseg.models.decode_heads.da_head import CAM

from mmattn.blocks import ChannelAttention
from mmattn.ops.attention import IMPLEMENTATIONS
from helpers import (assert_same_outputs_and_grads, export_opset17_and_check,
                      randomise, set_gamma)

CHANNELS = 16
KEY_CHANNELS = 4
# odd, non-square, a single row, square; batch 1 and 2
SHAPES = [(2, 7, 9), (1, 1, 5), (1, 16, 16), (2, 5, 3)]
AUTOCAST_DTYPES = [torch.bfloat16, torch.float16]


def _pair(impl='auto'):
    """mmseg's CAM (no weights but gamma) and ours with its state dict."""
    ref = set_gamma(CAM())
    ours = ChannelAttention(CHANNELS, impl=impl)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ref, ours


def _large_input():
    torch.manual_seed(3)
    return torch.randn(1, CHANNELS, 64, 64) * 100


# -------------------------------------------------------- mmseg equivalence
@pytest.mark.reference(blocks=[ChannelAttention])
@pytest.mark.parametrize('impl', IMPLEMENTATIONS)
@pytest.mark.parametrize('n, h, w', SHAPES)
def test_matches_mmseg_forward_and_gradients(impl, n, h, w, several_chunks):
    torch.manual_seed(n * 100 + h * 10 + w)
    ref, ours = _pair(impl)
    x = torch.randn(n, CHANNELS, h, w)
    upstream = torch.randn(n, CHANNELS, h, w)
    assert_same_outputs_and_grads(ref, ours, x, upstream)


def test_state_dict_keys_are_mmseg_keys():
    assert list(ChannelAttention(64).state_dict()) == \
        list(CAM().state_dict())


# ---------------------------------------------------------------- formulas
def test_cam_paper_form_is_softmax_of_energy():
    torch.manual_seed(0)
    block = set_gamma(ChannelAttention(CHANNELS, form='paper'), 0.4)
    x = torch.randn(2, CHANNELS, 6, 5) * 0.3
    flat = x.flatten(2)
    attention = torch.softmax(flat @ flat.transpose(1, 2), dim=-1)
    expected = 0.4 * (attention @ flat).view_as(x) + x
    torch.testing.assert_close(block(x), expected, rtol=1e-5, atol=1e-5)


def test_cam_danet_form_is_softmax_of_negative_energy():
    """rowmax(E) - E changes nothing but the sign: the danet form is the
    paper form applied to -E, i.e. the reversed attention."""
    torch.manual_seed(1)
    x = torch.randn(1, CHANNELS, 4, 7) * 0.3
    danet = set_gamma(ChannelAttention(CHANNELS, form='danet'))
    flat = x.flatten(2)
    attention = torch.softmax(-(flat @ flat.transpose(1, 2)), dim=-1)
    expected = 0.7 * (attention @ flat).view_as(x) + x
    torch.testing.assert_close(danet(x), expected, rtol=1e-5, atol=1e-5)
    paper = set_gamma(ChannelAttention(CHANNELS, form='paper'))
    assert not torch.allclose(danet(x), paper(x), atol=1e-3)


@pytest.mark.parametrize('form', ['danet', 'paper'])
def test_starts_as_identity(form):
    block = randomise(ChannelAttention(CHANNELS, form=form))
    with torch.no_grad():
        block.gamma.scale.zero_()
    x = torch.randn(2, CHANNELS, 5, 7)
    assert torch.equal(block(x), x)
    assert ChannelAttention(CHANNELS, form=form).gamma.scale.item() == 0


# ---------------------------------------------------------------- autocast
@pytest.mark.parametrize('dtype', AUTOCAST_DTYPES)
@pytest.mark.parametrize('form', ['danet', 'paper'])
def test_cam_under_autocast_and_half_input_is_finite(dtype, form):
    block = set_gamma(ChannelAttention(CHANNELS, form=form))
    x = _large_input()
    with torch.no_grad():
        full = block(x)
        with torch.autocast('cpu', dtype=dtype):
            out = block(x)
        # a model converted with .half(): weights and input in dtype
        half_out = copy.deepcopy(block).to(dtype)(x.to(dtype))
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, full, rtol=1e-5, atol=1e-4)
    assert half_out.dtype == dtype and torch.isfinite(half_out).all()
    assert (half_out.float() - full).norm() / full.norm() < 2e-2


def test_mmseg_cam_overflows_in_fp16_where_ours_does_not():
    """Documented contrast: mmseg's CAM forms the energies in fp16 under
    autocast; they overflow to inf and rowmax(E) - E turns them into NaN."""
    cam = set_gamma(CAM())
    ours = set_gamma(ChannelAttention(CHANNELS))
    x = _large_input()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.float16):
        assert torch.isnan(cam(x)).any()
        assert torch.isfinite(ours(x)).all()


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize('build, error, match', [
    (lambda: ChannelAttention(-1), ValueError, 'in_channels'),
    (lambda: ChannelAttention(None), ValueError, 'in_channels'),
    (lambda: ChannelAttention(16, form='max'), ValueError, 'form'),
    (lambda: ChannelAttention(16, impl='fast'), ValueError, 'impl'),
])
def test_bad_arguments_are_named(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.mark.parametrize('shape', [(2, 4, 5, 5), (8, 5, 5), (1, 9, 2, 2)])
def test_bad_input_shape_is_named(shape):
    block = ChannelAttention(8)
    with pytest.raises(ValueError, match=r'x must have shape \(N, 8, H, W\)'):
        block(torch.randn(*shape))


# -------------------------------------------------------------------- ONNX
@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('form', ['danet', 'paper'])
def test_onnx_export_with_dynamic_hw(form, tmp_path):
    block = ChannelAttention(CHANNELS, form=form)
    torch.manual_seed(0)
    randomise(block).eval()
    set_gamma(block, 0.5)
    export_opset17_and_check(block, tmp_path / 'block.onnx',
                             channels=CHANNELS)
