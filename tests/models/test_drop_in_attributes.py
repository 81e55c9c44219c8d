"""Drop-ins keep the public attributes of what they replace (#23 item 6):
code written against mmcv's or mmseg's class reads the same names from
mmattn's."""
import pytest
import torch

import mmattn  # noqa: F401


def _public_names(module):
    return {n for n in dir(module) if not n.startswith('_')}


def _blocks():
    from mmcv.cnn import ContextBlock, NonLocal2d
    from mmcv.ops import CrissCrossAttention as MMCVCrissCross
    from mmseg.models.decode_heads.da_head import CAM, PAM

    from mmattn.blocks import (ChannelAttention, CrissCrossAttention,
                               GlobalContext, NonLocal, PositionAttention)
    return {
        'ContextBlock': (lambda: ContextBlock(16, 1 / 4),
                         lambda: GlobalContext(16, 1 / 4)),
        'NonLocal2d': (lambda: NonLocal2d(16), lambda: NonLocal(16)),
        'CrissCrossAttention': (lambda: MMCVCrissCross(16),
                                lambda: CrissCrossAttention(16)),
        'PAM': (lambda: PAM(16, 8), lambda: PositionAttention(16, 8)),
        'CAM': (CAM, lambda: ChannelAttention(16, form='danet')),
    }


HEAD_ARGS = {
    'DAHead': dict(pam_channels=8),
    'ANNHead': dict(in_channels=[16, 32], in_index=[0, 1],
                    project_channels=8, query_scales=(1, ),
                    key_pool_scales=(1, 3)),
    'CCHead': dict(),
    'GCHead': dict(),
    'NLHead': dict(),
    'OCRHead': dict(ocr_channels=8),
}


@pytest.mark.parametrize('name', sorted(_blocks()))
def test_blocks_have_the_public_attributes_of_upstream(name):
    theirs, ours = (make() for make in _blocks()[name])
    assert _public_names(theirs) - _public_names(ours) == set()


@pytest.mark.parametrize('name', sorted(HEAD_ARGS))
def test_heads_have_the_public_attributes_of_mmseg(name):
    from mmseg.models import decode_heads as mmseg_heads

    from mmattn.models import decode_heads as mmattn_heads
    args = dict(in_channels=32, channels=16, num_classes=3)
    args.update(HEAD_ARGS[name])
    theirs = getattr(mmseg_heads, name)(**args)
    ours = getattr(mmattn_heads, name)(**args)
    assert _public_names(theirs) - _public_names(ours) == set()


def test_position_attention_reads_as_mmseg_pam():
    from mmseg.models.decode_heads.da_head import PAM

    from mmattn.blocks import PositionAttention
    theirs, ours = PAM(16, 8), PositionAttention(16, 8)
    for name in ('key_in_channels', 'query_in_channels', 'out_channels',
                 'share_key_query', 'matmul_norm', 'conv_cfg', 'norm_cfg',
                 'act_cfg', 'key_downsample', 'query_downsample',
                 'out_project', 'channels'):
        assert getattr(ours, name) == getattr(theirs, name), name
    for args in ((16, 8, 2, True, None, dict(type='BN'), dict(type='ReLU')),
                 (16, 8, 1, False, None, None, None)):
        built, expected = ours.build_project(*args), theirs.build_project(
            *args)
        assert list(built.state_dict()) == list(expected.state_dict())


@pytest.mark.parametrize('mode', ['gaussian', 'embedded_gaussian',
                                  'dot_product', 'concatenation'])
def test_non_local_pairwise_functions_equal_mmcv(mode):
    from mmcv.cnn import NonLocal2d

    from mmattn.blocks import NonLocal
    torch.manual_seed(0)
    theirs = NonLocal2d(16, mode=mode)
    ours = NonLocal(16, mode=mode)
    ours.load_state_dict(theirs.state_dict())
    n, c, p, pk = 2, ours.inter_channels, 12, 7
    if mode == 'concatenation':
        theta, phi = torch.randn(n, c, p, 1), torch.randn(n, c, 1, pk)
    else:
        theta, phi = torch.randn(n, p, c), torch.randn(n, c, pk)
    torch.testing.assert_close(getattr(ours, mode)(theta, phi),
                               getattr(theirs, mode)(theta, phi))
    if mode != 'concatenation':
        with pytest.raises(AttributeError, match="needs mode='concat"):
            ours.concatenation(torch.randn(n, c, p, 1),
                               torch.randn(n, c, 1, pk))
