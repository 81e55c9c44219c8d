"""DANet's PositionAttention against mmseg 1.2.2's PAM (state dicts loaded
strictly), fp16/bf16 autocast, argument errors and ONNX export."""
import pytest
import torch
from mmseg.models.decode_heads.da_head import PAM

from mmattn.blocks import PositionAttention
from mmattn.ops.attention import IMPLEMENTATIONS
from helpers import (assert_same_outputs_and_grads, export_opset17_and_check,
                      randomise, set_gamma)

CHANNELS = 16
KEY_CHANNELS = 4
# odd, non-square, a single row, square; batch 1 and 2
SHAPES = [(2, 7, 9), (1, 1, 5), (1, 16, 16), (2, 5, 3)]
AUTOCAST_DTYPES = [torch.bfloat16, torch.float16]


def _pair(impl='auto'):
    """mmseg's PAM with random weights and ours with its state dict."""
    ref = set_gamma(randomise(PAM(CHANNELS, KEY_CHANNELS)))
    ours = PositionAttention(CHANNELS, KEY_CHANNELS, impl=impl)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ref, ours


def _large_input():
    torch.manual_seed(3)
    return torch.randn(1, CHANNELS, 64, 64) * 100


# -------------------------------------------------------- mmseg equivalence
@pytest.mark.reference(blocks=[PositionAttention])
@pytest.mark.parametrize('impl', IMPLEMENTATIONS)
@pytest.mark.parametrize('n, h, w', SHAPES)
def test_matches_mmseg_forward_and_gradients(impl, n, h, w, several_chunks):
    torch.manual_seed(n * 100 + h * 10 + w)
    ref, ours = _pair(impl)
    x = torch.randn(n, CHANNELS, h, w)
    upstream = torch.randn(n, CHANNELS, h, w)
    assert_same_outputs_and_grads(ref, ours, x, upstream)


def test_state_dict_keys_are_mmseg_keys():
    assert list(PositionAttention(64, 8).state_dict()) == \
        list(PAM(64, 8).state_dict())


def test_pam_default_key_width_is_an_eighth():
    assert PositionAttention(64).channels == 8
    assert PositionAttention(64).key_project.out_channels == 8
    assert PositionAttention(4).channels == 1  # never zero


def test_starts_as_identity():
    block = randomise(PositionAttention(CHANNELS))
    with torch.no_grad():
        block.gamma.scale.zero_()
    x = torch.randn(2, CHANNELS, 5, 7)
    assert torch.equal(block(x), x)
    assert PositionAttention(CHANNELS).gamma.scale.item() == 0


# ---------------------------------------------------------------- autocast
@pytest.mark.parametrize('dtype', AUTOCAST_DTYPES)
def test_pam_under_autocast_is_finite_and_attention_exact(dtype):
    """With inputs of magnitude 1e2 the energies reach ~1e5 (past fp16's
    65504). Under autocast the 1x1 convs run in ``dtype``; the attention on
    their outputs must equal a float32 evaluation of the formula on those
    same outputs, and stay near float32."""
    torch.manual_seed(0)
    block = set_gamma(randomise(PositionAttention(CHANNELS, 4)), 1.0)
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


def test_mmseg_pam_overflows_in_fp16_where_ours_does_not():
    """Documented contrast: mmseg's PAM forms the energies in fp16 under
    autocast; they overflow to inf."""
    torch.manual_seed(0)
    pam = set_gamma(randomise(PAM(CHANNELS, 4)))
    ours = set_gamma(randomise(PositionAttention(CHANNELS, 4)))
    x = _large_input()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.float16):
        assert not torch.isfinite(pam(x)).all()
        assert torch.isfinite(ours(x)).all()


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize('build, error, match', [
    (lambda: PositionAttention(0), ValueError, 'in_channels'),
    (lambda: PositionAttention(16.0), ValueError, 'in_channels'),
    (lambda: PositionAttention(16, channels=0), ValueError, 'channels'),
    (lambda: PositionAttention(16, impl='flash'), ValueError, 'impl'),
])
def test_bad_arguments_are_named(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.mark.parametrize('shape', [(2, 4, 5, 5), (8, 5, 5), (1, 9, 2, 2)])
def test_bad_input_shape_is_named(shape):
    block = PositionAttention(8)
    with pytest.raises(ValueError, match=r'x must have shape \(N, 8, H, W\)'):
        block(torch.randn(*shape))


# -------------------------------------------------------------------- ONNX
@pytest.mark.filterwarnings('ignore')
def test_onnx_export_with_dynamic_hw(tmp_path):
    block = PositionAttention(CHANNELS, KEY_CHANNELS)
    torch.manual_seed(0)
    randomise(block).eval()
    set_gamma(block, 0.5)
    export_opset17_and_check(block, tmp_path / 'block.onnx',
                             channels=CHANNELS)
