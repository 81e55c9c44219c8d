"""mmattn.checks: each check accepts what it documents and names the
argument in its error; every flag of a block is refused unless a bool."""
import pytest
import torch

from mmattn.blocks import (CBAM, AsymmetricNonLocal, DoubleAttention,
                           GatherExcite, NonLocal, ResidualAttention,
                           SalientPositionAttention, SelectiveKernelConv,
                           StandAloneSelfAttentionConv)
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
    (CBAM, 'zero_init_spatial_norm'), (NonLocal, 'use_scale'),
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
