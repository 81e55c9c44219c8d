"""GlobalContext against mmcv's ContextBlock and the paper's formula."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmattn.blocks import GlobalContext
from helpers import (assert_input_shape_checked, export_opset17_and_check,
                      randomise)

SHAPES = [(2, 16, 7, 9), (1, 16, 1, 5), (1, 16, 5, 1), (1, 16, 16, 16),
          (2, 16, 1, 1)]
VARIANTS = [
    dict(pooling_type='att', fusion_types=('channel_add', )),
    dict(pooling_type='avg', fusion_types=('channel_add', )),
    dict(pooling_type='att', fusion_types=('channel_mul', )),
    dict(pooling_type='att', fusion_types=['channel_add', 'channel_mul']),
    dict(pooling_type='avg', fusion_types=('channel_mul', 'channel_add')),
]


def _mmcv_pair(channels, ratio, **kwargs):
    """mmcv's block with random weights and ours with its state dict."""
    from mmcv.cnn import ContextBlock
    theirs = randomise(ContextBlock(channels, ratio, **kwargs))
    ours = GlobalContext(channels, ratio, **kwargs)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


def reference_global_context(block, x):
    """The paper's formula: attention pooling, bottleneck, fusion."""
    n, c = x.shape[:2]
    if block.pooling_type == 'att':
        logits = torch.einsum('c,ncp->np', block.conv_mask.weight.flatten(),
                              x.flatten(2)) + block.conv_mask.bias
        context = torch.einsum('ncp,np->nc', x.flatten(2),
                               logits.softmax(dim=1))
    else:
        context = x.mean(dim=(2, 3))

    def transform(seq):
        h = F.linear(context, seq[0].weight.flatten(1), seq[0].bias)
        h = F.layer_norm(h, (block.planes, ), seq[1].weight.flatten(),
                         seq[1].bias.flatten())
        h = F.linear(h.relu(), seq[3].weight.flatten(1), seq[3].bias)
        return h.view(n, c, 1, 1)

    out = x
    if block.channel_mul_conv is not None:
        out = out * torch.sigmoid(transform(block.channel_mul_conv))
    if block.channel_add_conv is not None:
        out = out + transform(block.channel_add_conv)
    return out


# ------------------------------------------------------------- equivalence
@pytest.mark.parametrize('kwargs', VARIANTS)
@pytest.mark.parametrize('shape', SHAPES)
def test_equals_mmcv_outputs_and_gradients(shape, kwargs):
    torch.manual_seed(0)
    ours, theirs = _mmcv_pair(shape[1], 1 / 4, **kwargs)
    x = torch.randn(*shape, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    out, ref = ours(x), theirs(x2)
    assert out.shape == x.shape
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)
    g = torch.randn_like(out)
    out.backward(g)
    ref.backward(g)
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-4, atol=1e-4)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, theirs_params[name].grad,
                                   rtol=1e-4, atol=1e-4, msg=name)


@pytest.mark.reference(blocks=[GlobalContext])
@pytest.mark.parametrize('kwargs', VARIANTS)
def test_matches_the_papers_formula(kwargs):
    torch.manual_seed(0)
    block = randomise(GlobalContext(12, 1 / 3, **kwargs))
    x = torch.randn(2, 12, 5, 6)
    torch.testing.assert_close(block(x), reference_global_context(block, x),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('kwargs', VARIANTS)
def test_same_init_keys_and_plugin_name_as_mmcv(kwargs):
    from mmcv.cnn import ContextBlock
    torch.manual_seed(5)
    theirs = ContextBlock(32, 1 / 16, **kwargs)
    torch.manual_seed(5)
    ours = GlobalContext(32, 1 / 16, **kwargs)
    assert ours.planes == theirs.planes == 2
    assert ours._abbr_ == theirs._abbr_
    theirs, ours = theirs.state_dict(), ours.state_dict()
    assert list(ours) == list(theirs)
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key


# --------------------------------------------------------------- behaviour
def test_starts_as_identity_and_learns():
    torch.manual_seed(0)
    x = torch.randn(2, 16, 6, 5)
    block = GlobalContext(16, 1 / 4)
    assert not block.conv_mask.weight.eq(0).all()
    out = block(x)
    assert torch.equal(out, x)
    out.square().sum().backward()
    assert block.channel_add_conv[3].weight.grad.abs().sum() > 0
    # a multiplicative gate starts at sigmoid(0), as in mmcv
    gate = GlobalContext(16, 1 / 4, fusion_types=('channel_mul', ))
    torch.testing.assert_close(gate(x), 0.5 * x)


def test_init_weights_restores_identity_after_a_parent_init_cfg():
    """What a ResNet with ``init_cfg=Kaiming(Conv2d)`` does to a plugin."""

    class Parent(BaseModule):

        def __init__(self):
            super().__init__(init_cfg=dict(type='Kaiming', layer='Conv2d'))
            self.block = GlobalContext(16, 1 / 4)

    model = Parent()
    model.init_weights()
    last = model.block.channel_add_conv[3]
    assert torch.equal(last.weight, torch.zeros_like(last.weight))
    x = torch.randn(1, 16, 4, 4)
    assert torch.equal(model.block(x), x)


@pytest.mark.parametrize('kwargs', VARIANTS)
def test_every_parameter_is_trained(kwargs):
    """Every parameter gets a gradient; conv_mask.bias's is zero, as in
    mmcv: the softmax over positions ignores a shift of all logits."""
    torch.manual_seed(0)
    block = GlobalContext(16, 1 / 4, **kwargs)
    for transform in (block.channel_add_conv, block.channel_mul_conv):
        if transform is not None:  # leave the zero init
            nn.init.normal_(transform[3].weight)
    block(torch.randn(2, 16, 5, 4)).square().sum().backward()
    for name, p in block.named_parameters():
        if name == 'conv_mask.bias':
            # zero up to float32 rounding of sum(softmax) - 1
            bound = 1e-4 * block.conv_mask.weight.grad.abs().max()
            assert p.grad.abs().item() < bound
        else:
            assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_cpu_autocast_large_inputs_stay_finite_and_close(dtype):
    torch.manual_seed(0)
    block = randomise(GlobalContext(
        8, 1 / 2, fusion_types=('channel_add', 'channel_mul')))
    x = 100 * torch.randn(2, 8, 64, 64)
    with torch.no_grad():
        ref, ref_context = block(x), block.spatial_pool(x)
        with torch.autocast('cpu', dtype=dtype):
            out, context = block(x), block.spatial_pool(x)
    # the pooling is not autocast: logits, weights and sum in float32
    assert context.dtype == torch.float32
    torch.testing.assert_close(context, ref_context, rtol=1e-5, atol=1e-4)
    assert torch.isfinite(out).all()
    tol = 1e-2 * ref.abs().max().item()  # the transforms are autocast
    torch.testing.assert_close(out, ref, rtol=0, atol=tol)


def test_channels_last_input():
    torch.manual_seed(0)
    block = randomise(GlobalContext(16, 1 / 4))
    x = torch.randn(2, 16, 5, 7)
    torch.testing.assert_close(
        block(x.contiguous(memory_format=torch.channels_last)), block(x))


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize('kwargs, error, match', [
    (dict(in_channels=0), ValueError, r'in_channels.*got 0'),
    (dict(in_channels=8.0), ValueError, r'in_channels.*got 8\.0'),
    (dict(ratio=0), ValueError, r'ratio.*positive.*got 0'),
    (dict(ratio=-0.25), ValueError, r'ratio.*got -0\.25'),
    (dict(ratio='1/4'), ValueError, r"ratio.*got '1/4'"),
    (dict(ratio=1 / 32), ValueError,
     r'ratio.*int\(in_channels \* ratio\) >= 1.*16.*got 0\.03125'),
    (dict(pooling_type='max'), ValueError, r"pooling_type.*'att'.*got 'max'"),
    (dict(fusion_types='channel_add'), TypeError,
     r"fusion_types.*list or tuple.*got 'channel_add'"),
    (dict(fusion_types=()), TypeError, r'fusion_types.*non-empty.*got \(\)'),
    (dict(fusion_types=('channel_add', 'channel_sum')), ValueError,
     r"fusion_types.*'channel_mul'.*got 'channel_sum'"),
])
def test_bad_arguments(kwargs, error, match):
    args = dict(in_channels=16, ratio=1 / 4)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        GlobalContext(**args)


def test_bad_input_shape():
    assert_input_shape_checked(GlobalContext(16, 1 / 4), 16, 8, ndim=True)


@pytest.mark.parametrize('kwargs', [
    dict(pooling_type='max'), dict(fusion_types='channel_add'),
    dict(fusion_types=()), dict(fusion_types=('channel_sum', ))])
def test_bad_arguments_are_caught_as_mmcv_callers_catch_them(kwargs):
    # mmcv's ContextBlock asserts its arguments (its tests expect an
    # AssertionError); ours name the argument and are AssertionErrors too
    from mmcv.cnn import ContextBlock
    with pytest.raises(AssertionError):
        ContextBlock(16, 1 / 4, **kwargs)
    with pytest.raises(AssertionError, match='fusion_types|pooling_type'):
        GlobalContext(16, 1 / 4, **kwargs)


def _public_names(module):
    return {n for n in dir(module) if not n.startswith('_')}


@pytest.mark.parametrize('kwargs', [
    dict(), dict(pooling_type='avg'),
    dict(fusion_types=('channel_add', 'channel_mul'))])
def test_public_attributes_of_mmcv_context_block(kwargs):
    from mmcv.cnn import ContextBlock
    theirs, ours = ContextBlock(16, 1 / 4, **kwargs), GlobalContext(
        16, 1 / 4, **kwargs)
    assert _public_names(theirs) - _public_names(ours) == set()
    for name in ('in_channels', 'ratio', 'planes', 'pooling_type',
                 'fusion_types'):
        assert getattr(ours, name) == getattr(theirs, name), name
    if kwargs.get('pooling_type') == 'avg':
        assert isinstance(ours.avg_pool, torch.nn.AdaptiveAvgPool2d)
        x = torch.randn(2, 16, 5, 7)
        torch.testing.assert_close(ours.avg_pool(x), theirs.avg_pool(x))


# -------------------------------------------------------------------- ONNX
@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('kwargs', [VARIANTS[0], VARIANTS[4]])
def test_onnx_export_opset17_dynamic_hw(kwargs, tmp_path):
    torch.manual_seed(0)
    block = randomise(GlobalContext(16, 1 / 4, **kwargs)).eval()
    export_opset17_and_check(block, tmp_path / 'gc.onnx')
