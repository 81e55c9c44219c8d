"""dot_product_attention: every path equals the materialised formula."""
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from mmattn.ops import attention as attention_mod
from mmattn.ops import dot_product_attention

IMPLS = ['auto', 'sdpa', 'chunked', 'reference']


def materialised(q, k, v, scale):
    """The formula written out, in float64."""
    q, k, v = (t.double() for t in (q, k, v))
    logits = scale * torch.einsum('...id,...jd->...ij', q, k)
    weights = torch.exp(logits - logits.amax(-1, keepdim=True))
    weights = weights / weights.sum(-1, keepdim=True)
    return torch.einsum('...ij,...jc->...ic', weights, v)


def inputs(shapes, seed=0, dtype=torch.float32, magnitude=1.0):
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randn(s, generator=gen) * magnitude).to(dtype)
            .requires_grad_() for s in shapes]


SHAPES = [
    # (B, Lq, D), (B, Lk, D), (B, Lk, Dv)
    ((2, 37, 8), (2, 23, 8), (2, 23, 8)),
    ((2, 37, 8), (2, 23, 8), (2, 23, 24)),  # PAM-like: values wider
    ((1, 5, 16), (1, 1, 16), (1, 1, 4)),  # one key
    ((1, 1, 4), (1, 9, 4), (1, 9, 4)),  # one query
    ((2, 3, 11, 8), (2, 3, 13, 8), (2, 3, 13, 5)),  # heads
]


@pytest.mark.parametrize('impl', IMPLS)
@pytest.mark.parametrize('shapes', SHAPES)
@pytest.mark.parametrize('scale', [None, 1.0, -1.0, 0.3])
def test_matches_materialised_formula_with_gradients(impl, shapes, scale):
    q, k, v = inputs(shapes)
    used = q.size(-1)**-0.5 if scale is None else scale
    out = dot_product_attention(q, k, v, scale=scale, impl=impl,
                                chunk_size=4 if impl == 'chunked' else None)
    ref = materialised(q, k, v, used)
    assert out.dtype == torch.float32 and out.shape == ref.shape
    torch.testing.assert_close(out.double(), ref, rtol=1e-5, atol=1e-5)
    grad = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    got = torch.autograd.grad(out, (q, k, v), grad)
    want = torch.autograd.grad(ref, (q, k, v), grad.double())
    for g, w in zip(got, want):
        torch.testing.assert_close(g.double(), w.double(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('chunk_size', [1, 3, 7, 100])
def test_chunked_gradcheck(chunk_size):
    q, k, v = inputs(((2, 7, 3), (2, 5, 3), (2, 5, 4)), dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda a, b, c: dot_product_attention(
            a, b, c, scale=0.7, impl='chunked', chunk_size=chunk_size),
        (q, k, v))


def test_chunked_gradients_only_where_asked():
    q, k, v = inputs(((2, 9, 4), (2, 6, 4), (2, 6, 5)))
    k.requires_grad_(False)
    out = dot_product_attention(q, k, v, impl='chunked', chunk_size=2)
    ref = materialised(q, k, v, 0.5)
    grad = torch.randn(out.shape)
    got = torch.autograd.grad(out, (q, v), grad)
    want = torch.autograd.grad(ref, (q, v), grad.double())
    for g, w in zip(got, want):
        torch.testing.assert_close(g.double(), w.double(), rtol=1e-5, atol=1e-5)


def test_non_contiguous_inputs():
    base = torch.randn(2, 8, 12, 3)
    q = base[..., 0].transpose(1, 2)  # (2, 12, 8), strided
    k = base[..., 1].transpose(1, 2)
    v = torch.randn(2, 20, 12)[:, ::2].transpose(1, 2)[:, :, :10]
    v = torch.randn(2, 12, 10).transpose(1, 2).transpose(1, 2)
    for impl in IMPLS:
        out = dot_product_attention(q, k, v, impl=impl, chunk_size=5)
        torch.testing.assert_close(out.double(),
                                   materialised(q, k, v, 8**-0.5),
                                   rtol=1e-5, atol=1e-5)


class _LargestTensor(TorchDispatchMode):

    def __init__(self):
        super().__init__()
        self.max_numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out, ):
            if isinstance(t, torch.Tensor):
                self.max_numel = max(self.max_numel, t.numel())
        return out


def test_auto_never_materialises_the_affinity_when_widths_differ():
    """PAM's case on CPU: forward and backward stay below one (Lq, Lk)
    matrix per batch item, where the reference path forms it whole."""
    batch, length = 2, 600
    q, k, v = inputs(((batch, length, 8), (batch, length, 8),
                      (batch, length, 32)))
    full = batch * length * length
    with _LargestTensor() as rec:
        out = dot_product_attention(q, k, v, scale=1.0, chunk_size=100)
        out.sum().backward()
    assert rec.max_numel <= batch * 100 * length < full
    with _LargestTensor() as rec:
        dot_product_attention(q, k, v, scale=1.0,
                              impl='reference').sum().backward()
    assert rec.max_numel >= full  # the check above can fail


def test_default_chunk_fits_the_block_budget(monkeypatch):
    monkeypatch.setattr(attention_mod, '_CHUNK_BYTES', 4 * 2 * 50 * 10)
    monkeypatch.setattr(attention_mod, '_MIN_CHUNK_ROWS', 1)
    q, k, v = inputs(((2, 77, 4), (2, 50, 4), (2, 50, 6)))
    with _LargestTensor() as rec:
        out = dot_product_attention(q, k, v, impl='chunked')
        out.sum().backward()
    assert rec.max_numel <= 2 * 10 * 50
    torch.testing.assert_close(out.double(), materialised(q, k, v, 0.5),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
@pytest.mark.parametrize('widths', [(8, 8), (8, 32)])
def test_autocast_large_unscaled_energies_stay_finite(dtype, widths):
    """Inputs of magnitude 1e2 give logits ~1e5, past fp16's range: the op
    computes them in float32 and returns the autocast dtype."""
    d, dv = widths
    q, k, v = inputs(((2, 64, d), (2, 64, d), (2, 64, dv)), magnitude=100.)
    ref = materialised(q, k, v, 1.0)
    with torch.autocast('cpu', dtype=dtype):
        out = dot_product_attention(q.to(dtype), k.to(dtype), v.to(dtype),
                                    scale=1.0)
    assert out.dtype == dtype
    assert torch.isfinite(out).all()
    # inputs rounded to dtype move near-one-hot weights: compare loosely
    tol = 4e-2 if dtype == torch.bfloat16 else 1e-2
    close = ((out.double() - ref).abs() <= tol * 100 + tol * ref.abs())
    assert close.float().mean() > 0.95
    # the naive half computation overflows: the test could fail
    naive = (q.to(dtype) @ k.to(dtype).transpose(1, 2))
    if dtype == torch.float16:
        assert not torch.isfinite(naive).all()


def test_mixed_dtypes_promote():
    q, k, v = inputs(((1, 4, 3), (1, 5, 3), (1, 5, 2)))
    out = dot_product_attention(q, k.double(), v)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.double(), materialised(q, k, v, 3**-0.5),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('args, kwargs, match', [
    (((2, 5, 4), (2, 5, 3), (2, 5, 4)), {}, 'same width D'),
    (((2, 5, 4), (2, 5, 4), (2, 6, 4)), {}, 'same length Lk'),
    (((2, 5, 4), (3, 5, 4), (3, 5, 4)), {}, 'leading'),
    (((5, 4), (5, 4), (5, 4)), {}, r'query must have shape'),
    (((2, 5, 4), (2, 0, 4), (2, 0, 4)), {}, 'at least one position'),
    (((2, 5, 4), ) * 3, dict(impl='flash'), 'impl must be one of'),
    (((2, 5, 4), ) * 3, dict(scale=float('nan')), 'scale must be'),
    (((2, 5, 4), ) * 3, dict(scale=True), 'scale must be'),
    (((2, 5, 4), ) * 3, dict(chunk_size=0), 'chunk_size must be'),
])
def test_bad_arguments_are_named(args, kwargs, match):
    tensors = [torch.randn(s) for s in args]
    with pytest.raises(ValueError, match=match):
        dot_product_attention(*tensors, **kwargs)


def test_integer_inputs_refused():
    x = torch.ones(1, 2, 3, dtype=torch.long)
    with pytest.raises(TypeError, match='query must be floating point'):
        dot_product_attention(x, x, x)


def test_torch_compile_chunked_path():
    q, k, v = inputs(((2, 30, 4), (2, 20, 4), (2, 20, 6)))
    fn = torch.compile(
        lambda a, b, c: dot_product_attention(a, b, c, scale=1.0,
                                              chunk_size=8),
        backend='aot_eager', fullgraph=True)
    out = fn(q, k, v)
    ref = materialised(q, k, v, 1.0)
    torch.testing.assert_close(out.double(), ref, rtol=1e-5, atol=1e-5)
    grad = torch.randn(out.shape)
    got = torch.autograd.grad(out, (q, k, v), grad)
    want = torch.autograd.grad(ref, (q, k, v), grad.double())
    for g, w in zip(got, want):
        torch.testing.assert_close(g.double(), w.double(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('impl', IMPLS)
@pytest.mark.parametrize('scale', [1.0, -1.0])
def test_onnx_export_uses_the_formula(tmp_path, impl, scale):
    onnx = pytest.importorskip('onnx')
    ort = pytest.importorskip('onnxruntime')

    class Block(torch.nn.Module):

        def forward(self, q, k, v):
            return dot_product_attention(q, k, v, scale=scale, impl=impl,
                                         chunk_size=5)

    path = tmp_path / 'attention.onnx'
    q, k, v = (torch.randn(1, 12, 4), torch.randn(1, 12, 4),
               torch.randn(1, 12, 6))
    torch.onnx.export(Block(), (q, k, v), str(path), dynamo=False,
                      opset_version=17, input_names=['q', 'k', 'v'],
                      dynamic_axes={n: {1: 'l'} for n in 'qkv'})
    onnx.checker.check_model(onnx.load(str(path)))
    session = ort.InferenceSession(str(path),
                                   providers=['CPUExecutionProvider'])
    q, k, v = (torch.randn(1, 30, 4), torch.randn(1, 30, 4),
               torch.randn(1, 30, 6))
    out = session.run(None, dict(q=q.numpy(), k=k.numpy(), v=v.numpy()))[0]
    torch.testing.assert_close(torch.from_numpy(out).double(),
                               materialised(q, k, v, scale), rtol=1e-4,
                               atol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('dtype', [torch.float32, torch.float16])
@pytest.mark.parametrize('widths', [(64, 64), (64, 512)])
def test_cuda_matches_formula(dtype, widths):
    d, dv = widths
    q, k, v = (t.cuda().to(dtype).detach().requires_grad_() for t in inputs(
        ((2, 300, d), (2, 300, d), (2, 300, dv))))
    out = dot_product_attention(q, k, v, scale=d**-0.5)
    ref = materialised(q, k, v, d**-0.5)
    tol = 1e-5 if dtype == torch.float32 else 2e-3
    torch.testing.assert_close(out.double(), ref, rtol=tol, atol=tol)


@pytest.mark.parametrize('shapes, expected', [
    # few wide tokens (DANet CAM: C x C over H*W-wide rows): materialise
    (((2, 64, 900), (2, 64, 900), (2, 64, 900)), '_reference'),
    # few keys (OCR's object regions)
    (((2, 500, 16), (2, 5, 16), (2, 5, 16)), '_reference'),
    # many positions, equal widths (non-local): SDPA's fused kernel
    (((2, 500, 16), (2, 500, 16), (2, 500, 16)), '_sdpa'),
    # many positions, wider values (PAM) on CPU: chunked
    (((2, 500, 8), (2, 500, 8), (2, 500, 64)), '_chunked'),
])
def test_auto_dispatch(monkeypatch, shapes, expected):
    called = []
    for name in ('_reference', '_sdpa', '_chunked'):
        original = getattr(attention_mod, name)

        def record(*args, _name=name, _original=original):
            called.append(_name)
            return _original(*args)

        monkeypatch.setattr(attention_mod, name, record)
    q, k, v = inputs(shapes)
    out = dot_product_attention(q, k, v)
    assert called == [expected]
    torch.testing.assert_close(out.double(),
                               materialised(q, k, v, shapes[0][-1]**-0.5),
                               rtol=1e-5, atol=1e-5)


def test_long_key_sets_keep_a_minimum_block_height(monkeypatch):
    """With many keys the byte budget would give GEMMs a few rows thick;
    blocks keep _MIN_CHUNK_ROWS rows instead."""
    monkeypatch.setattr(attention_mod, '_CHUNK_BYTES', 4 * 50 * 2)
    monkeypatch.setattr(attention_mod, '_MIN_CHUNK_ROWS', 8)
    assert attention_mod._rows_per_chunk(1, 50, 4, None) == 8
    monkeypatch.setattr(attention_mod, '_CHUNK_BYTES', 4 * 50 * 20)
    assert attention_mod._rows_per_chunk(1, 50, 4, None) == 20
    assert attention_mod._rows_per_chunk(1, 50, 4, 3) == 3  # explicit wins
