"""mmattn.checks: each check accepts what it documents and names the
argument in its error; every flag of a block is refused unless a bool."""
import pytest
import torch

from mmattn.blocks import (CBAM, AsymmetricFusionNonLocal,
                           AsymmetricNonLocal, AsymmetricPyramidNonLocal,
                           DoubleAttention, GatherExcite,
                           GlobalSecondOrderPooling, NonLocal,
                           ResidualAttention, SalientPositionAttention,
                           SelectiveKernelConv, StandAloneSelfAttentionConv)
from mmattn.checks import (check_bool, check_choice, check_input,
                           check_non_negative_int, check_odd_kernel,
                           check_positive_int, check_real, check_scales)


@pytest.mark.parametrize('check, good, bad, match', [
    (check_positive_int, [1, 64], [0, -1, 2.0, True, None, '3'],
     'width must be a positive int'),
    (check_non_negative_int, [0, 5], [-1, 1.5, False], 'width must be a '
     'non-negative int'),
    (check_odd_kernel, [1, 7], [0, 2, -3, 3.0, True], 'width must be a '
     'positive odd int'),
    (check_real, [0, -2.5, 3], [float('nan'), float('inf'), True, '1'],
     'width must be a finite number'),
    (check_scales, [(1, ), [1, 2, 4]], [(), 4, (1, 0), (2.0, )], 'width'),
    (check_bool, [True, False], [0, 1, 'False', None], 'width must be a '
     'bool'),
])
def test_checks_accept_and_refuse(check, good, bad, match):
    for value in good:
        check('width', value)
    error = TypeError if check is check_bool else ValueError
    for value in bad:
        with pytest.raises(error, match=match):
            check('width', value)


def test_allow_none_and_choices():
    check_positive_int('k', None, allow_none=True)
    check_odd_kernel('k', None, allow_none=True)
    check_choice('mode', 'sum', ('sum', 'product'))
    with pytest.raises(ValueError, match=r"mode must be one of \('sum', "
                       r"'product'\), got 'max'"):
        check_choice('mode', 'max', ('sum', 'product'))
    with pytest.raises(ValueError, match='got True'):
        check_choice('extent', True, (1, 2))  # True is not 1


def test_check_input_names_the_argument():
    check_input(torch.zeros(1, 8, 2, 2), 8)
    with pytest.raises(ValueError, match=r'feats must have shape '
                       r'\(N, 8, H, W\), got \(1, 4, 2, 2\)'):
        check_input(torch.zeros(1, 4, 2, 2), 8, name='feats')


@pytest.mark.parametrize('cls, flag', [
    (CBAM, 'zero_init'), (NonLocal, 'use_scale'),
    (NonLocal, 'sub_sample'), (NonLocal, 'zeros_init'),
    (SalientPositionAttention, 'adaptive'),
    (SalientPositionAttention, 'sub_sample'),
    (SalientPositionAttention, 'zero_init'),
    (AsymmetricNonLocal, 'share_key_query'), (DoubleAttention, 'zero_init'),
    (ResidualAttention, 'zero_init'), (GatherExcite, 'use_mlp'),
    (SelectiveKernelConv, 'bias'), (StandAloneSelfAttentionConv, 'bias'),
])
def test_block_flags_must_be_bools(cls, flag):
    """A flag written as 0 or 'False' in a config is refused by name (two
    blocks used to read it as its truth value)."""
    with pytest.raises(TypeError, match=f'{flag} must be a bool, got 0'):
        cls(64, **{flag: 0})


@pytest.mark.parametrize('build, old, new, attr, value', [
    (lambda **kw: SalientPositionAttention(8, adaptive=True, **kw),
     'reduction', 'k_divisor', 'k_divisor', 4),
    (lambda **kw: CBAM(16, **kw), 'zero_init_spatial_norm', 'zero_init',
     'zero_init', False),
    (lambda **kw: ResidualAttention(16, **kw), 'unit_reduction', 'reduction',
     'hidden_channels', 2),
    (lambda **kw: SalientPositionAttention(8, **kw), 'inter_channels',
     'hidden_channels', 'hidden_channels', 3),
    (lambda **kw: DoubleAttention(8, **kw), 'mid_channels',
     'hidden_channels', 'hidden_channels', 3),
    (lambda **kw: GlobalSecondOrderPooling(8, **kw), 'cov_channels',
     'hidden_channels', 'hidden_channels', 3),
    (lambda **kw: AsymmetricPyramidNonLocal(8, **kw), 'project_channels',
     'hidden_channels', 'stages', 3),
    (lambda **kw: AsymmetricFusionNonLocal(6, 8, **kw), 'project_channels',
     'hidden_channels', 'stages', 3),
])
def test_renamed_arguments_keep_working_for_one_release(build, old, new,
                                                         attr, value):
    with pytest.warns(DeprecationWarning, match=f'{old}= is deprecated.*'
                      f'use {new}='):
        legacy = build(**{old: value})
    current = build(**{new: value})
    if isinstance(legacy, ResidualAttention):  # the units' width
        assert legacy.pre[0].layers[0].conv.out_channels == \
            current.pre[0].layers[0].conv.out_channels == 16 // value
    elif attr == 'stages':  # ANN blocks: each attention's width
        assert legacy.stages[0].hidden_channels == \
            current.stages[0].hidden_channels == value
    else:
        assert getattr(legacy, attr) == getattr(current, attr) == value
    with pytest.raises(TypeError, match=f'give {new}= only'):
        build(**{old: value, new: value})


def test_spa_head_takes_the_old_names_too():
    from mmattn.models.decode_heads import SPAHead
    kwargs = dict(in_channels=8, channels=8, num_classes=3, adaptive=True)
    with pytest.warns(DeprecationWarning, match='use k_divisor='):
        head = SPAHead(reduction=2, **kwargs)
    assert head.spa_block.k_divisor == 2
    with pytest.warns(DeprecationWarning, match='use hidden_channels='):
        head = SPAHead(inter_channels=3, **kwargs)
    assert head.spa_block.hidden_channels == 3
