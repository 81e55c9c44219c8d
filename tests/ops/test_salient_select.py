"""Tests of ``mmattn.ops.salient_select`` against plain-torch references."""
import importlib.util
import os

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from mmattn.ops import salient_select
from mmattn.ops import salient as salient_mod

CUDA = torch.cuda.is_available()


def _flat(x):
    return x.flatten(2) if x.dim() == 4 else x


def _saliency_ref(x):
    """Squared channel norm, computed the obvious way (it builds x ** 2)."""
    x = _flat(x)
    acc = torch.float64 if x.dtype == torch.float64 else torch.float32
    return x.to(acc).square().sum(dim=1)


def topk_reference(x, k):
    """Plain topk of the squared norm + gather: exact where no ties exist."""
    x3 = _flat(x)
    s = _saliency_ref(x3)
    indices = s.topk(min(k, s.shape[1]), dim=1).indices
    return x3.gather(2, indices[:, None].expand(-1, x3.shape[1], -1)), indices


def stable_reference(x, k):
    """Descending order, equal saliencies by ascending position."""
    x3 = _flat(x)
    s = _saliency_ref(x3)
    indices = torch.sort(s, dim=1, descending=True,
                         stable=True).indices[:, :k]
    return x3.gather(2, indices[:, None].expand(-1, x3.shape[1], -1)), indices


def assert_no_near_ties(x, k, rtol=1e-5):
    """Precondition of the topk comparisons: the k + 1 largest saliencies
    (all of them if L <= k) are far apart, so rounding in how the sum is
    formed cannot change which positions win or their order."""
    s = torch.sort(_saliency_ref(x).double(), dim=1, descending=True).values
    top = s[:, :k + 1]
    gaps = (top[:, :-1] - top[:, 1:]) / top[:, :-1].clamp_min(1e-30)
    assert gaps.min().item() > rtol, 'test data has near-ties; change seed'


def integer_features(shape, seed, high=2, dtype=torch.float32):
    """Small integers: sums of squares are exact, and ties are plentiful."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(-high, high + 1, shape, generator=g).to(dtype)


def randn(shape, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)


def assert_same(out, ref):
    sel, idx = out
    ref_sel, ref_idx = ref
    assert idx.dtype == torch.int64
    assert sel.dtype == ref_sel.dtype
    assert sel.shape == ref_sel.shape and idx.shape == ref_idx.shape
    torch.testing.assert_close(idx, ref_idx, rtol=0, atol=0)
    torch.testing.assert_close(sel, ref_sel, rtol=0, atol=0)


# --------------------------------------------------------------- values


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('shape,k', [
    ((2, 16, 100), 8),
    ((3, 5, 7, 9), 10),
    ((2, 64, 16, 16), 1),
    ((4, 3, 50), 50),
])
def test_matches_topk_reference(dtype, shape, k):
    x = randn(shape, seed=sum(shape) + k, dtype=dtype)
    assert_no_near_ties(x, k)
    sel, idx = salient_select(x, k)
    assert sel.shape == (shape[0], shape[1], k)
    assert idx.shape == (shape[0], k)
    assert_same((sel, idx), topk_reference(x, k))
    # descending saliency
    s = _saliency_ref(x).gather(1, idx)
    assert (s[:, :-1] >= s[:, 1:]).all()


def test_generic_kernel_chunking_paths(monkeypatch):
    """The per-channel and the channel-block saliency paths agree."""
    x = randn((2, 37, 300), seed=1)
    ref = _saliency_ref(x)
    results = []
    for scratch in (1, 2 * 300 * 5, 1 << 18):
        monkeypatch.setattr(salient_mod, '_SCRATCH_NUMEL', scratch)
        s = salient_mod._saliency_torch(x)
        torch.testing.assert_close(s, ref, rtol=1e-5, atol=1e-5)
        results.append(salient_select(x, 20))
    for out in results[1:]:
        assert_same(out, results[0])


class _RecordNumel(TorchDispatchMode):

    def __init__(self):
        super().__init__()
        self.max_numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out, ):
            if isinstance(t, torch.Tensor):
                self.max_numel = max(self.max_numel, t.numel())
        return out


@pytest.mark.parametrize('shape', [(2, 4, 140000), (2, 8, 40000),
                                   (2, 512, 49), (1, 2, 5), (2, 1, 9)])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float16])
def test_cpu_kernel_never_materialises_squares(shape, dtype):
    """No op of the CPU kernel produces an (N, C, L)-sized tensor."""
    x = randn(shape, seed=2, dtype=dtype)
    n, c, length = shape
    k = 3
    assert_no_near_ties(x, k)
    with _RecordNumel() as rec:
        sel, idx = salient_mod._select_generic(x, k)
    assert_same((sel, idx), stable_reference(x, k))
    if c > 1:
        assert rec.max_numel < n * c * length
    else:  # one channel: the (N, L) saliency itself is all there is
        assert rec.max_numel <= n * length


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_reduced_precision_accumulates_in_float32(dtype):
    x = randn((2, 16, 9, 11), seed=3, dtype=dtype)
    assert_no_near_ties(x, 12)
    out = salient_select(x, 12)
    assert out[0].dtype == dtype
    assert_same(out, topk_reference(x, 12))
    # Squares that overflow float16 (300 ** 2 * 8 > 65504) still rank.
    norms = torch.tensor([300., 310., 320., 1., 330.])
    y = (norms[None, None] * torch.ones(1, 8, 1)).to(dtype)
    _, idx = salient_select(y, 5)
    assert idx.tolist() == [[4, 2, 1, 0, 3]]


# ----------------------------------------------------------------- ties


def test_ties_straddling_kth_place():
    # saliency [1, 4, 9, 4, 4, 0]: three-way tie for the 2nd..4th places
    x = torch.tensor([[[1., 2., 3., -2., 2., 0.]]])
    assert salient_select(x, 1)[1].tolist() == [[2]]
    assert salient_select(x, 2)[1].tolist() == [[2, 1]]
    assert salient_select(x, 3)[1].tolist() == [[2, 1, 3]]
    assert salient_select(x, 4)[1].tolist() == [[2, 1, 3, 4]]
    assert salient_select(x, 6)[1].tolist() == [[2, 1, 3, 4, 0, 5]]


@pytest.mark.parametrize('dtype',
                         [torch.float32, torch.float64, torch.float16])
def test_ties_broken_by_lower_position(dtype):
    for seed in range(5):
        x = integer_features((3, 4, 6, 7), seed=seed, high=1, dtype=dtype)
        for k in (1, 5, 13, 41, 42):
            assert_same(salient_select(x, k), stable_reference(x, k))


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_all_equal_and_all_zero(dtype):
    for x in (torch.zeros(2, 3, 10, dtype=dtype),
              torch.ones(2, 3, 10, dtype=dtype)):
        _, idx = salient_select(x, 4)
        assert idx.tolist() == [[0, 1, 2, 3]] * 2


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_nan_ranks_first_like_topk(dtype):
    x = torch.tensor([[[1., 3., float('nan'), 2.], [0., 0., 0., 0.]]],
                     dtype=dtype)
    _, idx = salient_select(x, 2)
    assert idx.tolist() == [[2, 1]]


# ------------------------------------------------------- shapes, layout


def test_k_larger_than_length_selects_everything():
    x = randn((2, 3, 4, 5), seed=4)
    sel, idx = salient_select(x, 100)
    assert sel.shape == (2, 3, 20) and idx.shape == (2, 20)
    assert_same((sel, idx), stable_reference(x, 20))
    assert (idx.sort(dim=1).values == torch.arange(20)).all()


def test_batch_one_and_one_by_one_maps():
    x = randn((1, 6, 5, 3), seed=5)
    assert_same(salient_select(x, 4), topk_reference(x, 4))
    x = randn((3, 6, 1, 1), seed=6)
    for k in (1, 3):
        sel, idx = salient_select(x, k)
        assert idx.tolist() == [[0]] * 3
        torch.testing.assert_close(sel, x.flatten(2), rtol=0, atol=0)


def test_empty_positions():
    sel, idx = salient_select(torch.randn(2, 3, 0), 4)
    assert sel.shape == (2, 3, 0) and idx.shape == (2, 0)


@pytest.mark.parametrize('make', [
    lambda x: x.contiguous(memory_format=torch.channels_last),
    lambda x: x.permute(0, 1, 3, 2),
    lambda x: x[:, ::2, 1:, ::3],
    lambda x: x.expand(3, -1, -1, -1),
])
def test_non_contiguous_inputs(make):
    base = randn((1, 10, 12, 13), seed=7)
    x = make(base)
    assert not x.is_contiguous()
    assert_no_near_ties(x, 9)
    out = salient_select(x, 9)
    assert_same(out, salient_select(x.contiguous(), 9))
    assert_same(out, topk_reference(x.contiguous(), 9))


def test_non_contiguous_gradients():
    base = randn((2, 6, 5, 4), seed=8, dtype=torch.float64)
    x = base.contiguous(memory_format=torch.channels_last).requires_grad_()
    y = base.clone().requires_grad_()
    g = randn((2, 6, 7), seed=9, dtype=torch.float64)
    (salient_select(x, 7)[0] * g).sum().backward()
    (salient_select(y, 7)[0] * g).sum().backward()
    torch.testing.assert_close(x.grad, y.grad, rtol=0, atol=0)


# ------------------------------------------------------------ gradients


@pytest.mark.parametrize('shape,k', [((2, 3, 11), 4), ((2, 3, 3, 4), 12),
                                     ((1, 2, 5), 9)])
def test_gradcheck(shape, k):
    x = randn(shape, seed=10, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: salient_select(t, k)[0], (x, ))


def test_gradient_matches_reference_and_is_sparse():
    x = randn((2, 5, 6, 6), seed=11, dtype=torch.float64).requires_grad_()
    xr = x.detach().clone().requires_grad_()
    g = randn((2, 5, 10), seed=12, dtype=torch.float64)
    sel, idx = salient_select(x, 10)
    assert not idx.requires_grad
    (sel * g).sum().backward()
    (topk_reference(xr, 10)[0] * g).sum().backward()
    torch.testing.assert_close(x.grad, xr.grad, rtol=0, atol=0)
    touched = x.grad.flatten(2).abs().sum(dim=1) != 0
    chosen = torch.zeros_like(touched).scatter(1, idx, True)
    assert torch.equal(touched, chosen)


def test_opcheck_registrations():
    """Schema, fake kernel, autograd registration, AOT dispatch."""
    op = torch.ops.mmattn.salient_select.default
    for args in [(randn((2, 4, 9), seed=13).requires_grad_(), 3),
                 (randn((1, 3, 5), seed=14, dtype=torch.float64), 5)]:
        torch.library.opcheck(op, args)


# ----------------------------------------------------------- validation


@pytest.mark.parametrize('k', [0, -3, True, False, 2.0, 2.5, '3', None])
def test_bad_k(k):
    with pytest.raises(ValueError, match=r'\bk\b'):
        salient_select(torch.randn(1, 2, 5), k)


@pytest.mark.parametrize('x,err', [
    (torch.randn(2, 5), ValueError),
    (torch.randn(1, 2, 3, 4, 5), ValueError),
    (torch.ones(1, 2, 5, dtype=torch.int64), TypeError),
    (torch.ones(1, 2, 5, dtype=torch.bool), TypeError),
    ([[[1.0, 2.0]]], TypeError),
])
def test_bad_x(x, err):
    with pytest.raises(err, match=r'\bx\b'):
        salient_select(x, 1)


def test_numpy_integer_k_is_accepted():
    np = pytest.importorskip('numpy')
    x = randn((1, 2, 6), seed=15)
    assert_same(salient_select(x, np.int64(3)), salient_select(x, 3))


# ---------------------------------------------------------- compile


class _Block(torch.nn.Module):
    """conv1x1 -> salient_select -> attention-style matmul."""

    def __init__(self, k=6):
        super().__init__()
        self.k = k
        self.proj = torch.nn.Conv2d(4, 8, 1)

    def forward(self, x):
        feats = self.proj(x)
        selected, _ = salient_select(feats, self.k)  # (N, C, k)
        affinity = feats.flatten(2).transpose(1, 2) @ selected  # (N, L, k)
        return affinity.softmax(-1) @ selected.transpose(1, 2)


def _compare_compiled(backend, seed):
    torch.manual_seed(seed)
    model = _Block()
    x = randn((2, 4, 5, 7), seed=seed)
    ref = model(x)
    ref.square().sum().backward()
    ref_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    torch._dynamo.reset()
    compiled = torch.compile(model, backend=backend, fullgraph=True)
    out = compiled(x)
    out.square().sum().backward()
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    for p, g in zip(model.parameters(), ref_grads):
        torch.testing.assert_close(p.grad, g, rtol=1e-4, atol=1e-5)


def test_torch_compile_fullgraph_aot_eager():
    _compare_compiled('aot_eager', seed=16)


def test_torch_compile_dynamic_shapes():

    def fn(x):
        selected, indices = salient_select(x, 6)
        return selected * 2, indices

    torch._dynamo.reset()
    compiled = torch.compile(fn, backend='aot_eager', fullgraph=True,
                             dynamic=True)
    # the last shape has L = 4 < k: the clamp must hold under tracing too
    for seed, shape in enumerate([(2, 4, 5, 7), (3, 5, 6, 9), (1, 3, 2, 2)]):
        x = randn(shape, seed=30 + seed)
        assert_same(compiled(x), fn(x))


def test_torch_compile_fullgraph_inductor():
    # The one inductor compile of this file (about half a minute on 2 cores).
    _compare_compiled('inductor', seed=17)


# -------------------------------------------------------------- ONNX


def test_onnx_export_topk_gather(tmp_path):
    pytest.importorskip('onnxscript')
    onnx = pytest.importorskip('onnx')
    ort = pytest.importorskip('onnxruntime')

    class Tiny(torch.nn.Module):

        def forward(self, x):
            return salient_select(x, 7)

    x = randn((2, 3, 4, 5), seed=18)
    assert_no_near_ties(x, 7)
    path = tmp_path / 'salient.onnx'
    torch.onnx.export(
        Tiny().eval(), (x, ),
        str(path),
        dynamo=True,
        opset_version=18,
        custom_translation_table=salient_mod.onnx_translation_table())
    model = onnx.load(str(path))
    ops = {n.op_type for n in model.graph.node}
    assert {'TopK', 'GatherElements'} <= ops, ops
    assert not any(n.domain == 'mmattn' for n in model.graph.node)
    sess = ort.InferenceSession(str(path),
                                providers=['CPUExecutionProvider'])
    sel, idx = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})
    assert_same((torch.from_numpy(sel), torch.from_numpy(idx)),
                salient_select(x, 7))


# ------------------------------------------------------ GPU / Triton


@pytest.mark.skipif(not CUDA, reason='needs a CUDA device')
@pytest.mark.parametrize('dtype',
                         [torch.float32, torch.float16, torch.float64])
def test_cuda_kernel_matches_reference(dtype):
    x = randn((2, 48, 17, 19), seed=19, dtype=dtype)
    assert_no_near_ties(x, 20)
    xc = x.cuda()
    for inp in (xc, xc.contiguous(memory_format=torch.channels_last),
                xc[:, ::2]):
        ref = topk_reference(inp.cpu(), 20)
        sel, idx = salient_select(inp, 20)
        assert sel.is_cuda and idx.is_cuda
        assert_same((sel.cpu(), idx.cpu()), ref)
    xt = integer_features((3, 4, 6, 7), seed=20, high=1, dtype=dtype).cuda()
    for k in (1, 13, 42, 50):
        sel, idx = salient_select(xt, k)
        assert_same((sel.cpu(), idx.cpu()), stable_reference(xt.cpu(), k))
    if dtype == torch.float64:
        t = x[:, :3, :3, :4].cuda().requires_grad_()
        assert torch.autograd.gradcheck(lambda v: salient_select(v, 5)[0],
                                        (t, ))


@pytest.mark.skipif(not CUDA, reason='needs a CUDA device')
def test_cuda_uses_triton_when_installed():
    from mmattn.ops import _salient_triton
    if not _salient_triton.AVAILABLE:
        pytest.skip('triton not installed: CUDA uses the torch kernel')
    x = randn((2, 70, 130), seed=21).cuda()
    torch.testing.assert_close(
        _salient_triton.saliency(x), _saliency_ref(x), rtol=1e-5, atol=1e-4)


_TRITON_INTERPRET = (os.environ.get('TRITON_INTERPRET') == '1'
                     and importlib.util.find_spec('triton') is not None)


@pytest.mark.skipif(
    not _TRITON_INTERPRET,
    reason='runs the Triton kernel on CPU only under TRITON_INTERPRET=1')
@pytest.mark.parametrize('dtype', [torch.float32, torch.float16,
                                   torch.bfloat16, torch.float64])
def test_triton_kernel_in_interpreter(dtype):
    from mmattn.ops import _salient_triton
    x = randn((2, 70, 130), seed=22, dtype=dtype)
    for inp in (x, x[:, ::3, 5:], x.transpose(1, 2).contiguous().transpose(
            1, 2)):
        s = _salient_triton.saliency(inp)
        assert s.dtype == _saliency_ref(inp).dtype
        torch.testing.assert_close(
            s, _saliency_ref(inp), rtol=1e-5, atol=1e-4)
    # The CUDA kernel's Python body (Triton saliency, shared ranking) on CPU
    # tensors, with ties.
    xt = integer_features((3, 4, 6, 7), seed=23, high=1, dtype=dtype)
    for k in (1, 13, 42):
        out = salient_mod._salient_select_cuda(xt.flatten(2), k)
        assert_same(out, stable_reference(xt, k))
