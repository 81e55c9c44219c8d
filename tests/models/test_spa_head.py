"""SPAHead: laid out like mmseg's NLHead, with the block swapped."""
import pytest
import torch
from mmengine.registry import init_default_scope

import mmattn  # noqa: F401
from mmattn.models.decode_heads import SPAHead


def _inputs(n=2, h=9, w=14):
    return [torch.randn(n, 8, 2 * h, 2 * w), torch.randn(n, 16, h, w)]


def test_equals_nlhead_when_both_blocks_are_identity():
    from mmseg.models.decode_heads import NLHead
    kwargs = dict(in_channels=16, in_index=1, channels=8, num_classes=5,
                  norm_cfg=dict(type='BN'), dropout_ratio=0.0)
    torch.manual_seed(0)
    nl = NLHead(**kwargs).eval()  # NonLocal2d starts as identity
    spa = SPAHead(zero_init=True, **kwargs).eval()
    state = {k: v for k, v in nl.state_dict().items()
             if not k.startswith('nl_block.')}
    missing, unexpected = spa.load_state_dict(state, strict=False)
    assert not unexpected
    assert all(k.startswith('spa_block.') for k in missing)
    x = _inputs()
    torch.testing.assert_close(spa(x), nl(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('n, h, w', [(1, 5, 7), (2, 8, 8), (1, 1, 3)])
def test_forward_backward_shapes(n, h, w):
    head = SPAHead(in_channels=16, in_index=1, channels=8, num_classes=3,
                   norm_cfg=dict(type='BN'), k=4, adaptive=True, k_divisor=2)
    out = head(_inputs(n, h, w))
    assert out.shape == (n, 3, h, w)
    out.sum().backward()
    for name, p in head.named_parameters():
        assert p.grad is not None, name


def test_options_reach_the_block():
    head = SPAHead(in_channels=16, channels=8, num_classes=3, k=5,
                   hidden_channels=3, sub_sample=True)
    assert head.spa_block.k == 5
    assert head.spa_block.hidden_channels == 3
    assert head.spa_block.sub_sample
    with pytest.raises(ValueError, match='num_convs'):
        SPAHead(in_channels=16, channels=8, num_classes=3, num_convs=1)


def test_built_by_scoped_name_from_mmseg():
    init_default_scope('mmseg')
    from mmseg.registry import MODELS
    head = MODELS.build(dict(type='mmattn.SPAHead', in_channels=4,
                             channels=4, num_classes=2))
    assert isinstance(head, SPAHead)
