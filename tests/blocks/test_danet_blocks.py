"""DANet's PositionAttention and ChannelAttention against mmseg 1.2.2's PAM
and CAM (state dicts loaded strictly), their formulas, fp16/bf16 autocast,
argument errors and ONNX export."""
import pytest
import torch
from mmseg.models.decode_heads.da_head import CAM, PAM

import mmattn.ops.attention as attention_op
from mmattn.blocks import ChannelAttention, PositionAttention
from mmattn.ops.attention import IMPLEMENTATIONS
from conftest import export_opset17_and_check, randomise

CHANNELS = 16
KEY_CHANNELS = 4
# odd, non-square, a single row, square; batch 1 and 2
SHAPES = [(2, 7, 9), (1, 1, 5), (1, 16, 16), (2, 5, 3)]


def _nonzero_gamma(block, value=0.7):
    with torch.no_grad():
        block.gamma.scale.fill_(value)
    return block


def _pair(kind, impl='auto'):
    """mmseg's module with random weights and ours with its state dict."""
    if kind == 'pam':
        ref = randomise(PAM(CHANNELS, KEY_CHANNELS))
        ours = PositionAttention(CHANNELS, KEY_CHANNELS, impl=impl)
    else:
        ref = CAM()
        ours = ChannelAttention(CHANNELS, impl=impl)
    _nonzero_gamma(ref)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ref, ours


def _forward_backward(module, x, upstream):
    x = x.clone().requires_grad_()
    out = module(x)
    grads = torch.autograd.grad(out, [x, *module.parameters()], upstream)
    return out.detach(), grads


@pytest.fixture
def several_chunks(monkeypatch):
    """Make the op's chunked path split even these tiny maps into blocks of
    a few query rows, so the chunk boundaries are exercised."""
    monkeypatch.setattr(attention_op, '_CHUNK_BYTES', 256)
    monkeypatch.setattr(attention_op, '_MIN_CHUNK_ROWS', 1)


# -------------------------------------------------------- mmseg equivalence
@pytest.mark.parametrize('impl', IMPLEMENTATIONS)
@pytest.mark.parametrize('kind', ['pam', 'cam'])
@pytest.mark.parametrize('n, h, w', SHAPES)
def test_matches_mmseg_forward_and_gradients(kind, impl, n, h, w,
                                             several_chunks):
    torch.manual_seed(n * 100 + h * 10 + w)
    ref, ours = _pair(kind, impl)
    x = torch.randn(n, CHANNELS, h, w)
    upstream = torch.randn(n, CHANNELS, h, w)
    out_ref, grads_ref = _forward_backward(ref, x, upstream)
    out, grads = _forward_backward(ours, x, upstream)
    torch.testing.assert_close(out, out_ref, rtol=1e-4, atol=1e-4)
    # input gradient, then the parameters in state-dict order (same names)
    assert [k for k, _ in ours.named_parameters()] == \
        [k for k, _ in ref.named_parameters()]
    for g, g_ref in zip(grads, grads_ref):
        torch.testing.assert_close(g, g_ref, rtol=1e-4, atol=1e-4)


def test_pam_state_dict_keys_are_mmseg_keys():
    assert list(PositionAttention(64, 8).state_dict()) == \
        list(PAM(64, 8).state_dict())
    assert list(ChannelAttention(64).state_dict()) == \
        list(CAM().state_dict())


def test_pam_default_key_width_is_an_eighth():
    assert PositionAttention(64).channels == 8
    assert PositionAttention(64).key_project.out_channels == 8
    assert PositionAttention(4).channels == 1  # never zero


# ---------------------------------------------------------------- formulas
def test_cam_paper_form_is_softmax_of_energy():
    torch.manual_seed(0)
    block = _nonzero_gamma(ChannelAttention(CHANNELS, form='paper'), 0.4)
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
    danet = _nonzero_gamma(ChannelAttention(CHANNELS, form='danet'))
    flat = x.flatten(2)
    attention = torch.softmax(-(flat @ flat.transpose(1, 2)), dim=-1)
    expected = 0.7 * (attention @ flat).view_as(x) + x
    torch.testing.assert_close(danet(x), expected, rtol=1e-5, atol=1e-5)
    paper = _nonzero_gamma(ChannelAttention(CHANNELS, form='paper'))
    assert not torch.allclose(danet(x), paper(x), atol=1e-3)


@pytest.mark.parametrize('block', [
    PositionAttention(CHANNELS), ChannelAttention(CHANNELS),
    ChannelAttention(CHANNELS, form='paper')], ids=['pam', 'cam', 'cam_paper'])
def test_starts_as_identity(block):
    randomise(block)
    with torch.no_grad():
        block.gamma.scale.zero_()
    x = torch.randn(2, CHANNELS, 5, 7)
    assert torch.equal(block(x), x)
    assert PositionAttention(CHANNELS).gamma.scale.item() == 0
    assert ChannelAttention(CHANNELS).gamma.scale.item() == 0


# ---------------------------------------------------------------- autocast
AUTOCAST_DTYPES = [torch.bfloat16, torch.float16]


def _large_input():
    torch.manual_seed(3)
    return torch.randn(1, CHANNELS, 64, 64) * 100


@pytest.mark.parametrize('dtype', AUTOCAST_DTYPES)
def test_pam_under_autocast_is_finite_and_attention_exact(dtype):
    """With inputs of magnitude 1e2 the energies reach ~1e5 (past fp16's
    65504). Under autocast the 1x1 convs run in ``dtype``; the attention on
    their outputs must equal a float32 evaluation of the formula on those
    same outputs, and stay near float32."""
    torch.manual_seed(0)
    block = _nonzero_gamma(randomise(PositionAttention(CHANNELS, 4)), 1.0)
    x = _large_input()
    with torch.no_grad():
        full = block(x)
        with torch.autocast('cpu', dtype=dtype):
            out = block(x)
            q, k, v = (proj(x) for proj in (block.query_project,
                                           block.key_project,
                                           block.value_project))
        assert q.dtype == dtype
        q, k, v = (t.flatten(2).float() for t in (q, k, v))
        attention = torch.softmax(q.transpose(1, 2) @ k, dim=-1)
        context = (v @ attention.transpose(1, 2)).view_as(x)
    assert torch.isfinite(out).all()
    # Logits of ~1e5 carry float32 rounding of ~1e-2 that depends on the
    # summation order, which moves the weights of near-tied keys by ~1%.
    torch.testing.assert_close(out - x, context, atol=1e-3, rtol=2e-2)
    # Near one-hot attention magnifies the rounding of q and k in ``dtype``
    # (a near tie may pick another key), so only the norm is compared.
    assert (out - full).norm() / full.norm() < 0.2


@pytest.mark.parametrize('dtype', AUTOCAST_DTYPES)
@pytest.mark.parametrize('form', ['danet', 'paper'])
def test_cam_under_autocast_and_half_input_is_finite(dtype, form):
    block = _nonzero_gamma(ChannelAttention(CHANNELS, form=form))
    x = _large_input()
    with torch.no_grad():
        full = block(x)
        with torch.autocast('cpu', dtype=dtype):
            out = block(x)
        half_out = block(x.to(dtype))  # a model converted with .half()
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, full, rtol=1e-5, atol=1e-4)
    assert half_out.dtype == dtype and torch.isfinite(half_out).all()
    assert (half_out.float() - full).norm() / full.norm() < 2e-2


def test_mmseg_modules_overflow_in_fp16_where_ours_do_not():
    """Documented contrast: mmseg's PAM and CAM form the energies in fp16
    under autocast; they overflow to inf and the softmax (and CAM's
    rowmax(E) - E) turns them into NaN."""
    torch.manual_seed(0)
    pam = _nonzero_gamma(randomise(PAM(CHANNELS, 4)))
    cam = _nonzero_gamma(CAM())
    x = _large_input()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.float16):
        assert torch.isnan(cam(x)).any()
        assert not torch.isfinite(pam(x)).all()


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize('build, error, match', [
    (lambda: PositionAttention(0), ValueError, 'in_channels'),
    (lambda: PositionAttention(16.0), ValueError, 'in_channels'),
    (lambda: PositionAttention(16, channels=0), ValueError, 'channels'),
    (lambda: PositionAttention(16, impl='flash'), ValueError, 'impl'),
    (lambda: ChannelAttention(-1), ValueError, 'in_channels'),
    (lambda: ChannelAttention(None), ValueError, 'in_channels'),
    (lambda: ChannelAttention(16, form='max'), ValueError, 'form'),
    (lambda: ChannelAttention(16, impl='fast'), ValueError, 'impl'),
])
def test_bad_arguments_are_named(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.mark.parametrize('block', [PositionAttention(8), ChannelAttention(8)],
                         ids=['pam', 'cam'])
@pytest.mark.parametrize('shape', [(2, 4, 5, 5), (8, 5, 5), (1, 9, 2, 2)])
def test_bad_input_shape_is_named(block, shape):
    with pytest.raises(ValueError, match=r'x must have shape \(N, 8, H, W\)'):
        block(torch.randn(*shape))


# -------------------------------------------------------------------- ONNX
@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('block', [
    PositionAttention(CHANNELS, KEY_CHANNELS), ChannelAttention(CHANNELS),
    ChannelAttention(CHANNELS, form='paper')], ids=['pam', 'cam', 'cam_paper'])
def test_onnx_export_with_dynamic_hw(block, tmp_path):
    torch.manual_seed(0)
    randomise(block).eval()
    _nonzero_gamma(block, 0.5)
    export_opset17_and_check(block, tmp_path / 'block.onnx',
                             channels=CHANNELS)
