"""BAT against the authors' formula (the Kronecker-expanded P and Q of their
``resize_mat``, as matrix products on the zero-padded map), and against
timm's BatNonLocalAttn with its state dict as it is."""
import pytest
import torch
import torch.nn.functional as F
from helpers import (assert_gradients_match, assert_input_shape_checked,
                      randomise)
from reference_formulas import conv_module
from timm_reference import assert_same_as_timm, timm_module

from mmattn.blocks import BilinearAttentionTransform, GroupedBilinearTransform

BAT = BilinearAttentionTransform


def reference_transform(ba, x):
    """Chi et al. / the authors' BATransform.forward: P = row-normalised
    sigmoid(conv_p(maxpool_(s, 1)(z))), Q column-normalised; then
    y = (P kron I_t) x (Q kron I_u) per channel on the map zero-padded to
    multiples of s, cropped back; then conv2."""
    n, c, h, w = x.shape
    s, g = ba.block_size, ba.groups
    z = conv_module(ba.conv1, x)
    rows = F.adaptive_max_pool2d(z, (s, 1))
    cols = F.adaptive_max_pool2d(z, (1, s))
    p = torch.sigmoid(F.conv2d(rows, ba.conv_p.weight, ba.conv_p.bias))
    q = torch.sigmoid(F.conv2d(cols, ba.conv_q.weight, ba.conv_q.bias))
    p = p.view(n, g, s, s)
    q = q.view(n, g, s, s)
    p = p / p.sum(dim=3, keepdim=True)
    q = q / q.sum(dim=2, keepdim=True)
    t, u = -(-h // s), -(-w // s)
    padded = F.pad(x, (0, u * s - w, 0, t * s - h))
    y = torch.empty_like(padded)
    for i in range(n):
        for ch in range(c):
            group = ch // (c // g)
            big_p = torch.kron(p[i, group], torch.eye(t))
            big_q = torch.kron(q[i, group], torch.eye(u))
            y[i, ch] = big_p @ padded[i, ch] @ big_q
    return conv_module(ba.conv2, y[:, :, :h, :w])


def reference_bat(block, x):
    y = conv_module(block.conv1, x)
    y = conv_module(block.conv2, reference_transform(block.ba, y))
    return x + y  # eval or dropout_ratio=0: Dropout2d is the identity


BLOCKS = {
    'authors': lambda c: BAT(c),
    's3_groups2_r4': lambda c: BAT(c, reduction=4, block_size=3, groups=2),
    's1': lambda c: BAT(c, block_size=1, groups=1),
}


@pytest.mark.reference(blocks=[BAT])
@pytest.mark.parametrize('size', [(1, 1), (7, 14), (5, 6), (3, 16)])
@pytest.mark.parametrize('name', list(BLOCKS))
def test_matches_the_authors_formula(name, size):
    torch.manual_seed(0)
    block = randomise(BLOCKS[name](32)).eval()
    x = torch.randn(2, 32, *size)
    out = block(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, reference_bat(block, x), rtol=1e-5,
                               atol=1e-5)


def test_gradients_match_and_reach_every_parameter():
    """Training mode (BN on batch statistics) without dropout."""
    assert_gradients_match(
        lambda c: BAT(c, block_size=3, groups=2, dropout_ratio=0.0),
        reference_bat, (3, 16, 7, 5), dict(rtol=1e-4, atol=1e-5),
        param_tol=dict(rtol=1e-4, atol_scale=1e-5))


def test_structure_and_init_are_the_authors():
    block = BAT(64)
    assert block.hidden_channels == 32 and block.ba.groups == 4
    assert block.ba.conv_p.weight.shape == (7 * 7 * 4, 4, 7, 1)
    assert block.dropout.p == 0.2
    for bn in (block.conv1.bn, block.conv2.bn, block.ba.conv2.bn):
        assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)


def test_dropout_is_on_in_training_only():
    torch.manual_seed(0)
    block = BAT(16, block_size=3, groups=2, dropout_ratio=0.5)
    x = torch.randn(2, 16, 6, 6)
    block.eval()
    torch.testing.assert_close(block(x), block(x))
    block.train()
    assert not torch.equal(block(x), block(x))


def test_loads_timm_weights():
    """timm's defaults (C' = C / 4 rounded to 8, 2 groups, s = 7) on a map
    of whole 7 x 7 cells, where the authors' code is defined."""
    theirs = timm_module('non_local_attn', 'BatNonLocalAttn')(64)
    ours = BAT(64, reduction=4, groups=2)
    assert_same_as_timm(ours, theirs,
                        shape=(2, 64, 14, 21), convert=False,
                        tol=dict(rtol=1e-5, atol=1e-5))


@pytest.mark.parametrize('kwargs, match', [
    (dict(in_channels=16, reduction=0), r'reduction.*got 0'),
    (dict(in_channels=16, reduction=32), r'reduction must be <= in_channels'),
    (dict(in_channels=16, groups=3), r"groups must divide the transform's "
     r'in_channels \(8\), got 3'),
    (dict(in_channels=16, block_size=0), r'block_size.*got 0'),
    (dict(in_channels=16, dropout_ratio=1.0), r'dropout_ratio.*\[0, 1\)'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BAT(**kwargs)


def test_the_transform_alone_keeps_the_shape():
    torch.manual_seed(0)
    ba = randomise(GroupedBilinearTransform(8, block_size=3, groups=2)).eval()
    x = torch.randn(2, 8, 5, 4)
    torch.testing.assert_close(ba(x), reference_transform(ba, x))


def test_transform_names_a_wrong_channel_count():
    # before the check, 12 channels failed inside conv1 (a torch error)
    assert_input_shape_checked(GroupedBilinearTransform(8, block_size=3,
                                                        groups=2), 8, 12,
                               ndim=True)
