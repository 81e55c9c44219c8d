"""timm's attention layers, weights and all, give the same outputs in
mmattn: each test randomises timm's module (every parameter and BN buffer),
loads its state dict strictly into ours (through the block's
``convert_timm_state_dict`` where the keys differ) and compares the outputs
in eval mode on a map with odd sizes. timm is imported through
tests/timm_reference.py (timm imports torchvision, not installed here)."""
import pytest
import torch
from timm_reference import assert_same_as_timm, timm_layers, timm_module

from mmattn.blocks import (CBAM, CoordinateAttention,
                           EfficientChannelAttention,
                           EffectiveSqueezeExcitation, GatherExcite,
                           GlobalContext, LightCBAM, NonLocal,
                           SelectiveKernelConv, SqueezeExcitation)


# ------------------------------------------------- keys that load as they are
def test_ese_loads_timm_weights():
    assert_same_as_timm(EffectiveSqueezeExcitation(32),
                        timm_layers().EffectiveSEModule(32), convert=False)


def test_circular_eca_loads_timm_weights():
    # with channels given timm derives k itself; None keeps kernel_size
    theirs = timm_layers().CecaModule(channels=None, kernel_size=5)
    assert_same_as_timm(EfficientChannelAttention(
        32, kernel_size=5, padding_mode='circular'), theirs, convert=False)


def test_coordinate_attention_loads_timm_weights():
    theirs = timm_module('coord_attn', 'CoordAttn')(32)
    width = theirs.conv1.out_channels
    assert_same_as_timm(CoordinateAttention(
        32, hidden_channels=width, bias=False), theirs, convert=False)


# ------------------------------------------------------------ converted keys
def test_se_loads_timm_weights():
    """timm rounds the width to a multiple of 8: 8 for C = 64, which is
    reduction 8 here."""
    theirs = timm_layers().SEModule(64)
    assert theirs.fc1.out_channels == 8
    assert_same_as_timm(SqueezeExcitation(64, reduction=8), theirs,
                        shape=(2, 64, 9, 7))


@pytest.mark.parametrize('fusion, timm_kwargs', [
    (('channel_mul', ), {}),  # timm's default: fuse_scale
    (('channel_add', ), dict(fuse_add=True, fuse_scale=False)),  # 'gca'
    (('channel_mul', 'channel_add'), dict(fuse_add=True)),
])
def test_global_context_loads_timm_weights(fusion, timm_kwargs):
    theirs = timm_module('global_context', 'GlobalContext')(64,
                                                            **timm_kwargs)
    # LayerNorm epsilon 1e-5 here (mmcv's) against timm's 1e-6
    assert_same_as_timm(GlobalContext(64, ratio=1 / 8, fusion_types=fusion),
                        theirs, shape=(2, 64, 9, 7),
                        tol=dict(rtol=1e-4, atol=1e-5))


def test_cbam_loads_timm_weights_with_the_spatial_inputs_swapped():
    theirs = timm_module('cbam', 'CbamModule')(32)
    expected = assert_same_as_timm(CBAM(32, mlp_bias=False), theirs)
    # without the swap the spatial gate would differ: the check can fail
    wrong = CBAM(32, mlp_bias=False).eval()
    state = CBAM.convert_timm_state_dict(theirs.state_dict())
    state['spatial_conv.weight'] = state['spatial_conv.weight'].flip(1)
    wrong.load_state_dict(state)
    with torch.no_grad():
        assert not torch.allclose(wrong(torch.randn(2, 32, 9, 7)), expected)


def test_light_cbam_loads_timm_weights():
    theirs = timm_module('cbam', 'LightCbamModule')(32)
    assert_same_as_timm(LightCBAM(32), theirs)


@pytest.mark.parametrize('groups', [1, 4])
def test_selective_kernel_loads_timm_weights(groups):
    """timm's layout with ``split_input=False``: paths of dilation 1 and 2,
    a fuse width of 8 (its rounding of C / 16) given as ``min_channels``."""
    theirs = timm_module('selective_kernel', 'SelectiveKernel')(
        32, split_input=False, groups=groups)
    assert theirs.attn.fc_reduce.out_channels == 8
    assert_same_as_timm(SelectiveKernelConv(32, groups=groups,
                                            min_channels=8), theirs)


def test_non_local_loads_timm_weights():
    """timm's C^-0.5 logit scale and z bias are folded into the weights."""
    theirs = timm_module('non_local_attn', 'NonLocalAttn')(32)
    assert theirs.t.out_channels == 8
    assert_same_as_timm(NonLocal(32, reduction=4, norm_cfg=dict(type='BN')),
                        theirs, tol=dict(rtol=1e-5, atol=1e-5))


@pytest.mark.parametrize('extent', [None, 2, 4])
def test_parameter_free_gather_excite_matches_timm(extent):
    """GE-theta-minus. timm's GatherExcite with parameters (``use_mlp`` or
    ``extra_params``) cannot be built in timm 1.0.31: it passes ``*dd``
    (a dict unpacked as positional arguments) to ConvMlp and
    create_conv2d, a TypeError. With e dividing H and W both use the same
    gather cells."""
    theirs = timm_module('gather_excite', 'GatherExcite')(
        32, extent=extent or 0, use_mlp=False)
    assert_same_as_timm(GatherExcite(32, extent=extent), theirs,
                        shape=(2, 32, 8, 12), convert=False)


def test_converters_name_a_key_of_another_layout():
    state = timm_layers().SEModule(64).state_dict()
    with pytest.raises(KeyError, match=r"'fc1.weight'.*timm's CbamModule"):
        CBAM.convert_timm_state_dict(state)
