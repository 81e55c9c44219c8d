"""NonLocal against mmcv's NonLocal2d: keys, init, outputs and gradients in
every mode; memory of the attention; autocast; errors; ONNX."""
import pytest
import torch
from mmcv.cnn import NonLocal2d, build_plugin_layer

import mmattn  # noqa: F401  (registers mmattn.NonLocal)
from mmattn.blocks import NonLocal
from helpers import (assert_same_forward_backward, export_opset17_and_check,
                      randomise)

MODES = ('embedded_gaussian', 'gaussian', 'dot_product', 'concatenation')
NORMS = {'none': None, 'bn': dict(type='BN')}


class ReferenceNonLocal2d(NonLocal2d):
    """mmcv's NonLocal2d with one fix in the concatenation mode.

    mmcv divides the ReLU output in place (``pairwise_weight /= ...``), which
    autograd refuses in the backward; the same division out of place gives
    the same forward and a usable backward.
    """

    def concatenation(self, theta_x, phi_x):
        h, w = theta_x.size(2), phi_x.size(3)
        feature = torch.cat(
            [theta_x.repeat(1, 1, 1, w), phi_x.repeat(1, 1, h, 1)], dim=1)
        pairwise = self.concat_project(feature)
        return pairwise.view(pairwise.size(0), h, w) / w


def _pair(mode, sub_sample, norm, channels=8, **kwargs):
    """mmcv's block with random weights and ours with its state dict."""
    ref = randomise(ReferenceNonLocal2d(
        channels, sub_sample=sub_sample, mode=mode, norm_cfg=NORMS[norm],
        **kwargs))
    ours = NonLocal(channels, sub_sample=sub_sample, mode=mode,
                    norm_cfg=NORMS[norm], **kwargs)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ref, ours


SHAPES = [(2, 8, 7, 9), (1, 8, 1, 5), (1, 8, 16, 16)]
SUB_SAMPLED_SHAPES = [(2, 8, 7, 9), (1, 8, 5, 2), (1, 8, 16, 16)]


@pytest.mark.parametrize('norm', list(NORMS))
@pytest.mark.parametrize('sub_sample', [False, True])
@pytest.mark.parametrize('mode', MODES)
def test_same_keys_and_init_as_mmcv(mode, sub_sample, norm):
    torch.manual_seed(0)
    ref = NonLocal2d(8, sub_sample=sub_sample, mode=mode,
                     norm_cfg=NORMS[norm])
    torch.manual_seed(0)
    ours = NonLocal(8, sub_sample=sub_sample, mode=mode, norm_cfg=NORMS[norm])
    state_ref, state_ours = ref.state_dict(), ours.state_dict()
    assert list(state_ours) == list(state_ref)
    for key, value in state_ref.items():
        assert torch.equal(state_ours[key], value), key


@pytest.mark.reference(blocks=[NonLocal])
@pytest.mark.parametrize('norm', list(NORMS))
@pytest.mark.parametrize('sub_sample', [False, True])
@pytest.mark.parametrize('mode', MODES)
def test_matches_mmcv(mode, sub_sample, norm):
    torch.manual_seed(1)
    ref, ours = _pair(mode, sub_sample, norm)
    for shape in SUB_SAMPLED_SHAPES if sub_sample else SHAPES:
        assert_same_forward_backward(ref, ours, torch.randn(shape))


@pytest.mark.parametrize('use_scale', [False, True])
def test_matches_mmcv_eval_norm_and_reduction(use_scale):
    torch.manual_seed(2)
    ref, ours = _pair('embedded_gaussian', False, 'bn', channels=12,
                      reduction=4, use_scale=use_scale)
    ref.eval()
    ours.eval()
    assert ours.inter_channels == 3
    assert_same_forward_backward(ref, ours, torch.randn(2, 12, 6, 11))


@pytest.mark.parametrize('norm', list(NORMS))
@pytest.mark.parametrize('mode', MODES)
def test_starts_as_identity(mode, norm):
    block = NonLocal(8, mode=mode, norm_cfg=NORMS[norm])
    x = torch.randn(2, 8, 5, 6)
    torch.testing.assert_close(block(x), x, rtol=0, atol=0)
    # not a block that ignores its weights: with zeros_init=False it is not
    block = NonLocal(8, mode=mode, norm_cfg=NORMS[norm], zeros_init=False)
    assert not torch.allclose(block(x), x)


def test_init_weights_keeps_the_constructor_settings():
    block = randomise(NonLocal(8, std=0.5, zeros_init=False))
    block.init_weights()
    assert block.conv_out.conv.weight.abs().max() > 0
    assert 0.3 < block.g.conv.weight.std() < 0.7
    assert torch.all(block.g.conv.bias == 0)


@pytest.mark.parametrize('mode,sub_sample', [
    ('embedded_gaussian', False), ('gaussian', False), ('gaussian', True),
    ('dot_product', False)])
def test_affinity_is_not_kept_for_backward(mode, sub_sample):
    """Nothing of P x P_k elements is saved for the backward: the softmax
    modes go through the shared attention op, dot_product through
    q (k^T v)."""
    block = randomise(NonLocal(4, mode=mode, sub_sample=sub_sample))
    x = torch.randn(1, 4, 32, 32, requires_grad=True)
    positions = 32 * 32
    key_positions = positions // 4 if sub_sample else positions
    saved = []

    def pack(t):
        saved.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = block(x)
    out.sum().backward()
    assert saved and max(saved) < positions * key_positions // 16


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
@pytest.mark.parametrize('mode', MODES)
def test_autocast_large_inputs_finite_and_close(mode, dtype):
    """Inputs of magnitude 1e2 at 64 x 64: the gaussian logits (x . x, about
    4e4 with 4 channels) pass fp16's 65504 in a half-precision matmul. The
    residual branch under autocast stays finite and within 5% of float32."""
    torch.manual_seed(3)
    block = NonLocal(4, mode=mode, zeros_init=False)
    x = 100 * torch.randn(1, 4, 64, 64)
    with torch.no_grad():
        branch = block(x) - x
        with torch.autocast('cpu', dtype=dtype):
            out = block(x)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out.float() - x, branch, rtol=0,
                               atol=0.05 * float(branch.abs().max()))


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match='mode'):
        NonLocal(8, mode='softmax')
    with pytest.raises(ValueError, match='in_channels'):
        NonLocal(0)
    with pytest.raises(ValueError, match='reduction'):
        NonLocal(8, reduction=0)
    with pytest.raises(ValueError, match='std'):
        NonLocal(8, std=-1.0)
    with pytest.raises(TypeError):
        NonLocal(8, False, None, 2)  # as mmcv: only 3 positional arguments
    block = NonLocal(8)
    with pytest.raises(ValueError, match=r'x must have shape \(N, 8, H, W\)'):
        block(torch.randn(1, 4, 5, 5))
    with pytest.raises(ValueError, match='x must have shape'):
        block(torch.randn(8, 5, 5))
    with pytest.raises(ValueError, match='sub_sample'):
        NonLocal(8, sub_sample=True)(torch.randn(1, 8, 1, 6))


def test_plugin_layer_named_and_loaded_like_mmcv():
    ref_name, ref = build_plugin_layer(
        dict(type='NonLocal2d', mode='dot_product'), postfix=1,
        in_channels=8)
    name, ours = build_plugin_layer(
        dict(type='mmattn.NonLocal', mode='dot_product'), postfix=1,
        in_channels=8)
    assert isinstance(ours, NonLocal) and name == ref_name
    ours.load_state_dict(randomise(ref).state_dict(), strict=True)
    x = torch.randn(1, 8, 3, 4)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('mode,sub_sample', [
    ('embedded_gaussian', False), ('gaussian', True), ('dot_product', False),
    ('concatenation', False)])
def test_onnx_export_dynamic_hw(mode, sub_sample, tmp_path):
    torch.manual_seed(4)
    block = randomise(NonLocal(16, mode=mode, sub_sample=sub_sample,
                               norm_cfg=dict(type='BN'))).eval()
    export_opset17_and_check(block, tmp_path / 'non_local.onnx', channels=16)
