"""Property-based fuzzing of every registered block (#11 item 3).

For each block of ``registered_blocks()``, hypothesis draws inputs over
shapes (batch 0, 1, 2; 1x1, odd, extreme aspect ratios; maps smaller than a
block's k or window), dtypes (float64, float32, float16 and bfloat16 on CPU,
integer and bool tensors, a dtype other than the weights'), memory layouts
(channels_last, non-contiguous, an expanded batch), wrong channel counts,
wrong ndim and NaN/Inf values, and constructor arguments at their edges.

Every case must end in one of:

* a result of the right shape, equal within the dtype's tolerance to the
  same block computed in float64 (its weights cast to float64, so only the
  arithmetic differs), without NaN/Inf where the input has none;
* a ``ValueError``/``TypeError`` whose message names the argument.

Anything else (an error from inside torch, a wrong shape, a hang: each case
runs under a deadline) fails. The counts of every outcome are printed in the
terminal summary (see ``conftest.pytest_terminal_summary``).
"""
import copy
import inspect
import re
from collections import Counter

import pytest
import torch
from helpers import randomise
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmattn.blocks.catalog import plugin_kwargs, registered_blocks

BLOCKS = registered_blocks()
IDS = [cls.__name__ for cls in BLOCKS]
CHANNELS = 32

#: outcome counts per block, printed by conftest's terminal summary
FUZZ_COUNTS = {}
#: block -> messages with which it refused valid-looking inputs
FUZZ_REFUSALS = {}

#: max |result - float64 result| / (1 + max |float64 result|) per dtype.
#: Half precisions are compared on inputs of magnitude <= 1 only: at
#: magnitude 30 a softmax or a top-k is decided by differences below their
#: resolution, so only shape and finiteness are checked there (as the
#: autocast check of test_registered_blocks does).
TOLERANCE = {
    torch.float64: 1e-9,
    torch.float32: 1e-3,
    torch.float16: 3e-2,
    torch.bfloat16: 1.5e-1,
}

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck),
                    print_blob=True)


def _record(name, outcome):
    """Count one case of block or head ``name``."""
    FUZZ_COUNTS.setdefault(name, Counter())[outcome] += 1


def _build(cls, in_channels=CHANNELS, **overrides):
    kwargs = plugin_kwargs(cls, small=True)
    kwargs.update(overrides)
    if cls.role == 'conv':  # as a plugin: same width, stride 1
        kwargs.setdefault('out_channels', in_channels)
    torch.manual_seed(0)
    return randomise(cls(in_channels, **kwargs)).eval()


#: kinds of input case, with the number of examples each block gets
INPUT_KINDS = {'valid': 100, 'nonfinite': 20, 'wrong_channels': 15,
               'wrong_ndim': 15, 'integer': 10, 'dtype_mismatch': 15}


@st.composite
def input_cases(draw, kind):
    n = draw(st.sampled_from([0, 1, 1, 2, 2, 2]))
    if draw(st.integers(0, 4)) == 0:  # extreme aspect ratios
        h, w = draw(st.sampled_from([(1, 23), (23, 1), (2, 31), (31, 2)]))
    else:
        h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    dtype = draw(st.sampled_from(
        [torch.float32, torch.float32, torch.float64, torch.float16,
         torch.bfloat16]))
    layout = draw(st.sampled_from(
        ['contiguous', 'channels_last', 'non_contiguous', 'expanded']))
    scale = draw(st.sampled_from([1.0, 1e-3, 30.0]))
    return dict(kind=kind, shape=(n, CHANNELS, h, w), dtype=dtype,
                layout=layout, scale=scale)


def _make_input(case, seed=0):
    n, c, h, w = case['shape']
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, h, w, generator=g, dtype=torch.float64)
    x = x * case['scale']
    layout = case['layout']
    if layout == 'channels_last':
        x = x.contiguous(memory_format=torch.channels_last)
    elif layout == 'non_contiguous':  # every other column of a wider map
        wide = torch.randn(n, c, h, 2 * w, generator=g, dtype=torch.float64)
        wide[..., ::2] = x
        x = wide[..., ::2]
        assert not x.is_contiguous() or x.numel() <= 1 or w == 1
    elif layout == 'expanded' and n > 0:  # one image, stride 0 over N
        x = x[:1].expand(n, c, h, w)
    return x


def _names_argument(err, names):
    return any(re.search(rf'\b{re.escape(name)}\b', str(err))
               for name in names)


def _check_error(cls, err, names, case):
    assert isinstance(err, (ValueError, TypeError)), (
        f'{cls.__name__} {case}: {type(err).__name__} from inside: {err}')
    assert _names_argument(err, names), (
        f'{cls.__name__} {case}: the message does not name {names}: {err}')


def _expected_shape(block, x):
    """The input's shape; a conv replacement with a stride divides H and W
    by it, rounding up (the padding of a 'same' convolution)."""
    n, c, h, w = x.shape
    stride = getattr(block, 'stride', 1) if block.role == 'conv' else 1
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    return torch.Size((n, getattr(block, 'out_channels', c) or c,
                       -(-h // sh), -(-w // sw)))


def _run_against_float64(cls, block, x, dtype, case):
    """Run ``block`` in ``dtype`` on ``x``; compare with float64."""
    block = copy.deepcopy(block).to(dtype)
    x = x.to(dtype)
    with torch.no_grad():
        out = block(x)
        reference = copy.deepcopy(block).double()(x.double())
    assert out.shape == _expected_shape(block, x), (
        f'{cls.__name__} {case}: output {tuple(out.shape)} for input '
        f'{tuple(x.shape)}')
    assert out.dtype == dtype, (cls.__name__, case, out.dtype)
    # a finite input gives a finite output wherever the float64 result fits
    # the dtype (a lambda layer's output is quadratic in x: at magnitude 30
    # it can exceed float16's 65504)
    representable = torch.isfinite(reference).all() and (
        reference.numel() == 0
        or reference.abs().max() <= torch.finfo(dtype).max)
    if torch.isfinite(x).all() and representable:
        assert torch.isfinite(out).all(), (
            f'{cls.__name__} {case}: non-finite output for a finite input')
    half = dtype in (torch.float16, torch.bfloat16)
    if half and x.numel() and x.abs().max() > 6:  # beyond N(0, 1) draws
        return
    if out.numel() and torch.isfinite(reference).all():
        error = (out.double() - reference).abs().max().item()
        bound = TOLERANCE[dtype] * (1 + reference.abs().max().item())
        assert error <= bound, (
            f'{cls.__name__} {case}: |{dtype} - float64| = {error:.3g} > '
            f'{bound:.3g}')


def _fuzz_input(cls, block, case):
    kind = case['kind']
    x = _make_input(case)
    dtype = case['dtype']
    try:
        if kind == 'valid':
            _run_against_float64(cls, block, x, dtype, case)
        elif kind == 'nonfinite':
            if x.numel():
                x = x.clone()
                x[0, 0, 0, 0] = float('nan')
                x[-1, -1, -1, -1] = float('inf')
            out = block(x.float())
            assert out.shape == x.shape, (cls.__name__, case)
        elif kind == 'wrong_channels':
            block(x[:, :CHANNELS // 2].float().contiguous())
            raise AssertionError(f'{cls.__name__}: accepted {CHANNELS // 2} '
                                 f'channels, built for {CHANNELS}')
        elif kind == 'wrong_ndim':
            bad = x.float().flatten(2) if x.dim() == 4 else x
            if case['shape'][2] % 2:
                bad = x.float().unsqueeze(0)
            block(bad)
            raise AssertionError(f'{cls.__name__}: accepted a '
                                 f'{bad.dim()}-d input')
        elif kind == 'integer':
            block((x * 10).to(torch.int64 if case['scale'] != 1.0
                              else torch.bool))
            raise AssertionError(f'{cls.__name__}: accepted an integer '
                                 'input')
        elif kind == 'dtype_mismatch':  # float32 weights, another input
            other = torch.float64 if dtype == torch.float32 else dtype
            if not any(p.is_floating_point() for p in block.parameters()):
                # no weights (SimAM): every float dtype is its own
                _run_against_float64(cls, block, x, other, case)
                _record(cls.__name__, 'dtype_mismatch: result (no weights)')
                return
            block(x.to(other))
            raise AssertionError(f'{cls.__name__}: accepted {other} input '
                                 'with float32 weights outside autocast')
    except (ValueError, TypeError, RuntimeError, IndexError) as err:
        if kind == 'valid' and not isinstance(err, (ValueError, TypeError)):
            raise AssertionError(
                f'{cls.__name__} {case}: {type(err).__name__} from inside: '
                f'{err}') from err
        _check_error(cls, err, ('x',), case)
        _record(cls.__name__, f'{kind}: error')
        if kind in ('valid', 'nonfinite'):
            FUZZ_REFUSALS.setdefault(cls.__name__, set()).add(
                str(err).split(':')[0][:100])
        return
    _record(cls.__name__, f'{kind}: result')


@pytest.mark.parametrize('kind', INPUT_KINDS)
@pytest.mark.parametrize('cls', BLOCKS, ids=IDS)
def test_fuzz_inputs(cls, kind):
    block = _build(cls)

    @settings(SETTINGS, max_examples=INPUT_KINDS[kind])
    @given(case=input_cases(kind))
    def run(case):
        _fuzz_input(cls, block, case)

    run()
    counts = FUZZ_COUNTS[cls.__name__]
    if kind == 'valid':  # not vacuous: most valid cases compute a result
        assert counts['valid: result'] >= 4 * counts['valid: error'], counts


#: edge values tried for each numeric constructor argument
EDGE_VALUES = [0, -1, 1, 2, 3, 7, 65, 0.5, -0.5, 1e-9, float('nan'),
               float('inf'), True, None, '4']


def _numeric_arguments(cls):
    """Constructor arguments whose default is a number (or None for a
    width/size), besides in_channels."""
    names = []
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name in ('self', 'in_channels', 'out_channels') or \
                param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        default = param.default
        if isinstance(default, bool):
            continue
        if isinstance(default, (int, float)) or (
                default is None and any(
                    part in name for part in ('channels', 'ratio', 'size',
                                              'reduction', 'k', 'groups'))):
            names.append(name)
    return names


@pytest.mark.parametrize('cls', BLOCKS, ids=IDS)
def test_fuzz_constructor_arguments(cls):
    names = ['in_channels'] + _numeric_arguments(cls)

    @SETTINGS
    @given(name=st.sampled_from(names), value=st.sampled_from(EDGE_VALUES))
    def run(name, value):
        case = f'{name}={value!r}'
        try:
            if name == 'in_channels':
                block = _build(cls, in_channels=value) if not (
                    isinstance(value, int) and not isinstance(value, bool)
                    and value > 64) else _build(cls, in_channels=64)
            else:
                block = _build(cls, **{name: value})
        except (ValueError, TypeError) as err:
            _check_error(cls, err, (name, ) + (('out_channels', ) if
                                               name == 'in_channels' else ()),
                         case)
            _record(cls.__name__, 'argument: error')
            return
        except Exception as err:
            raise AssertionError(
                f'{cls.__name__}({case}): {type(err).__name__} from inside: '
                f'{err}') from err
        channels = block.in_channels
        x = torch.randn(2, channels, 7, 5, dtype=torch.float64)
        try:
            _run_against_float64(cls, block, x, torch.float32, case)
        except (ValueError, TypeError) as err:
            # a map too small for the arguments is refused, naming x
            _check_error(cls, err, ('x', name), case)
            _record(cls.__name__, 'argument: accepted, input refused')
            return
        except (RuntimeError, IndexError, ZeroDivisionError) as err:
            raise AssertionError(
                f'{cls.__name__}({case}) was built but fails: '
                f'{type(err).__name__}: {err}') from err
        _record(cls.__name__, 'argument: accepted, result')

    run()
    assert FUZZ_COUNTS[cls.__name__]['argument: error'] > 0


#: every mmattn decode head, small; in_channels 32 on the last of two
#: levels (16 channels at twice the size before it)
HEADS = {
    'SPAHead': dict(),
    'DAHead': dict(pam_channels=8),
    'CCHead': dict(recurrence=2),
    'GCHead': dict(ratio=1 / 4),
    'NLHead': dict(),
    'EfficientAttentionHead': dict(num_heads=2),
    'ExternalAttentionHead': dict(memory_units=16),
    'OCRHead': dict(ocr_channels=8),
    'ANNHead': dict(in_channels=[16, 32], in_index=[0, 1],
                    project_channels=8, query_scales=(1, ),
                    key_pool_scales=(1, 3)),
}
HEAD_KINDS = {'valid': 40, 'wrong_channels': 8, 'wrong_ndim': 8,
              'integer': 5, 'dtype_mismatch': 8, 'not_a_list': 3}
NUM_CLASSES = 3


def test_every_registered_head_is_fuzzed():
    from mmattn.models import decode_heads
    assert sorted(HEADS) == sorted(decode_heads.__all__)


def _build_head(name):
    from mmengine.registry import init_default_scope
    from mmattn.registry import MODELS
    init_default_scope('mmseg')
    cfg = dict(type=f'mmattn.{name}', in_channels=CHANNELS, channels=16,
               num_classes=NUM_CLASSES)
    cfg.update(HEADS[name])
    torch.manual_seed(0)
    return randomise(MODELS.build(cfg)).eval()


def _head_outputs(head, inputs, prev_output=None):
    out = (head(inputs) if prev_output is None else
           head(inputs, prev_output))
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _fuzz_head(name, head, case):
    n, _, h, w = case['shape']
    dtype = case['dtype']
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randn(n, 16, 2 * h, 2 * w, generator=g,
                          dtype=torch.float64),
              torch.randn(n, CHANNELS, h, w, generator=g,
                          dtype=torch.float64)]
    if case['layout'] == 'channels_last':
        inputs = [x.contiguous(memory_format=torch.channels_last)
                  for x in inputs]
    prev = (torch.randn(n, NUM_CLASSES, h, w, generator=g,
                        dtype=torch.float64) if name == 'OCRHead' else None)
    kind = case['kind']
    try:
        if kind == 'valid':
            head = copy.deepcopy(head).to(dtype)
            cast = [x.to(dtype) for x in inputs]
            with torch.no_grad():
                outs = _head_outputs(head, cast, None if prev is None else
                                     prev.to(dtype))
                refs = _head_outputs(copy.deepcopy(head).double(),
                                     [x.double() for x in cast],
                                     None if prev is None else
                                     prev.to(dtype).double())
            for out, ref in zip(outs, refs):
                assert out.shape == (n, NUM_CLASSES, h, w), (
                    f'{name} {case}: output {tuple(out.shape)}')
                assert torch.isfinite(out).all(), (name, case)
                if out.numel():
                    error = (out.double() - ref).abs().max().item()
                    bound = TOLERANCE[dtype] * (1 + ref.abs().max().item())
                    assert error <= bound, (name, case, error, bound)
        else:
            bad = [x.float() for x in inputs]
            prev = None if prev is None else prev.float()
            if kind == 'wrong_channels':
                bad[-1] = bad[-1][:, :CHANNELS // 2].contiguous()
            elif kind == 'wrong_ndim':
                bad[-1] = bad[-1].flatten(2)
            elif kind == 'integer':
                bad[-1] = bad[-1].long()
            elif kind == 'dtype_mismatch':
                bad = [x.double() for x in bad]
            elif kind == 'not_a_list':
                bad = bad[-1]
            _head_outputs(head, bad, prev)
            raise AssertionError(f'{name} accepted {kind} inputs')
    except (ValueError, TypeError, RuntimeError, IndexError) as err:
        if kind == 'valid' or not isinstance(err, (ValueError, TypeError)):
            raise AssertionError(
                f'{name} {case}: {type(err).__name__}: {err}') from err
        assert _names_argument(err, ('inputs', )), (
            f'{name} {case}: the message does not name inputs: {err}')
        _record(name, f'head {kind}: error')
        return
    _record(name, f'head {kind}: result')


@pytest.mark.parametrize('kind', HEAD_KINDS)
@pytest.mark.parametrize('name', sorted(HEADS))
def test_fuzz_heads(name, kind):
    head = _build_head(name)

    @settings(SETTINGS, max_examples=HEAD_KINDS[kind])
    @given(case=input_cases(kind))
    def run(case):
        _fuzz_head(name, head, case)

    run()
