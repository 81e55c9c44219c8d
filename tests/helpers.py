"""Helpers the tests share: assertions against references, builders, paths.

Imported by the tests as ``from helpers import ...`` (``tests/`` is on the
path because ``tests/conftest.py`` lives there); fixtures and pytest hooks
stay in ``tests/conftest.py``.
"""
import json
import os
import os.path as osp

import pytest

from mmattn.testing import randomise, reset_mmengine_singletons  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def build_resnet50(scope, **kwargs):
    """mmseg's ResNetV1c or mmdet's ResNet (by ``scope``), depth 50, built
    with ``kwargs`` (``plugins=``, ``dcn=``, ...) under that scope. Note that
    their ``train()``/``eval()`` return None: do not chain them."""
    from mmengine.registry import init_default_scope
    init_default_scope(scope)
    if scope == 'mmseg':
        from mmseg.registry import MODELS
        cfg = dict(type='ResNetV1c')
    else:
        from mmdet.registry import MODELS
        cfg = dict(type='ResNet')
    return MODELS.build(dict(cfg, depth=50, **kwargs))


def assert_matches_reference(make, reference, shape, rtol, atol,
                             out_shape=None):
    """A block built by ``make(C)`` with random weights, in eval mode, gives
    ``reference(block, x)`` on a random ``x`` of ``shape`` (within rtol,
    atol) and the output shape ``out_shape(block, shape)`` (default: the
    input's)."""
    import torch
    torch.manual_seed(0)
    block = randomise(make(shape[1])).eval()
    x = torch.randn(*shape)
    out = block(x)
    expected = tuple(shape) if out_shape is None else out_shape(block, shape)
    assert tuple(out.shape) == tuple(expected)
    torch.testing.assert_close(out, reference(block, x), rtol=rtol,
                               atol=atol)


def assert_conv_matches_reference(layer, reference, size, channels=16,
                                  rtol=1e-4, atol=1e-5):
    """A conv replacement on a random (2, ``channels``, *size) input has the
    size of a strided "same" conv, ceil(H / s) x ceil(W / s), and equals
    ``reference(layer, x)``."""
    import torch
    x = torch.randn(2, channels, *size)
    out = layer(x)
    s = layer.stride
    assert out.shape == (2, layer.out_channels, -(-size[0] // s),
                         -(-size[1] // s))
    torch.testing.assert_close(out, reference(layer, x), rtol=rtol,
                               atol=atol)


def _tolerance(tol, reference):
    """``tol`` with ``atol_scale`` turned into an atol relative to the
    largest magnitude in ``reference`` (a gradient that is a cancellation of
    much larger terms is compared on their scale)."""
    tol = dict(tol)
    if 'atol_scale' in tol:
        tol['atol'] = tol.pop('atol_scale') * float(reference)
    return tol


def assert_gradients_match(make, reference, shape, out_tol, input_tol=None,
                           param_tol=None, double=False, check_used=True):
    """A block built by ``make(C)`` with random weights, in training mode
    (BN on batch statistics), gives ``reference(block, x)`` on a random ``x``
    of ``shape``, and the same gradients of ``sum(out^2)`` with respect to
    ``x`` and every parameter; with ``check_used``, every parameter gets a
    non-zero gradient (DDP without ``find_unused_parameters`` needs it).

    Tolerances are dicts of ``rtol`` and ``atol`` (or ``atol_scale``: atol
    relative to the largest gradient); ``input_tol`` and ``param_tol``
    default to ``out_tol``. ``double`` runs in float64. Returns the block
    and ``x``."""
    import torch
    torch.manual_seed(0)
    block = randomise(make(shape[1])).train()
    dtype = torch.float64 if double else torch.float32
    block.to(dtype)
    x = torch.randn(*shape, dtype=dtype, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    out = block(x)
    expected = reference(block, x2)
    torch.testing.assert_close(out, expected, **out_tol)
    out.square().sum().backward()
    grads = {n: p.grad.clone() for n, p in block.named_parameters()}
    block.zero_grad()
    expected.square().sum().backward()
    torch.testing.assert_close(
        x.grad, x2.grad,
        **_tolerance(input_tol or out_tol, x.grad.abs().max()))
    scale = max(g.abs().max() for g in grads.values()) if grads else 0
    tol = _tolerance(param_tol or out_tol, scale)
    for n, p in block.named_parameters():
        if check_used:
            assert grads[n].abs().sum() > 0, n
        torch.testing.assert_close(grads[n], p.grad, msg=n, **tol)
    return block, x


def assert_every_parameter_used(block, x, exempt=()):
    """In eval mode, ``sum(block(x)^2)`` reaches every parameter with a
    gradient above 1e-6 of the largest (DDP without
    ``find_unused_parameters`` needs every one used). Eval mode, because with
    batch statistics a bias that shifts every input of a BN channel equally
    has an exactly zero gradient. Parameters whose names end with one of
    ``exempt`` need only be in the graph."""
    block.eval().zero_grad()
    block(x).square().sum().backward()
    for n, p in block.named_parameters():
        assert p.grad is not None, n
    scale = max(p.grad.abs().max() for p in block.parameters())
    for n, p in block.named_parameters():
        if not n.endswith(tuple(exempt)):
            assert p.grad.abs().sum() > 1e-6 * scale, n


def assert_input_shape_checked(block, channels, wrong, ndim=False):
    """``block`` refuses an (1, ``wrong``, 4, 4) input (and, with ``ndim``,
    a 3-D one) with a ValueError that names the expected (N, C, H, W) and
    the shape it got."""
    import torch
    with pytest.raises(ValueError, match=rf'\(N, {channels}, H, W\).*'
                       rf'\(1, {wrong}, 4, 4\)'):
        block(torch.randn(1, wrong, 4, 4))
    if ndim:
        with pytest.raises(ValueError, match=rf'\(N, {channels}, H, W\)'):
            block(torch.randn(channels, 4, 4))


def assert_bf16_autocast_close(block, scale=100., tol=0.05):
    """Under CPU bf16 autocast, inputs of magnitude ``scale`` give a finite
    output within ``tol`` of float32 (max error over max magnitude)."""
    import torch
    x = scale * torch.randn(2, 16, 12, 10)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = block(x)
    assert torch.isfinite(out).all()
    ref = block(x)
    assert (out.float() - ref).abs().max() / ref.abs().max() < tol


def assert_same_forward_backward(ref, ours, *args, seed=0):
    """``ours(*args)`` equals ``ref(*args)`` (1e-4), and so do the gradients
    of every input tensor and parameter under one random upstream gradient
    (1e-4 of the largest: BN in training mode and softmaxes amplify rounding
    in gradients that are analytically zero). An argument may be a tensor or
    a list of tensors (a head's inputs). The RNG is re-seeded with ``seed``
    before each forward, so both draw the same dropout."""
    import torch

    def leaves(arg):
        if isinstance(arg, (list, tuple)):
            return [t.clone().requires_grad_() for t in arg]
        return arg.clone().requires_grad_()

    def flat(arguments):
        return [t for a in arguments
                for t in (a if isinstance(a, list) else [a])]

    ref_args = [leaves(a) for a in args]
    ours_args = [leaves(a) for a in args]
    torch.manual_seed(seed)
    out_ref = ref(*ref_args)
    torch.manual_seed(seed)
    out_ours = ours(*ours_args)
    torch.testing.assert_close(out_ours, out_ref, rtol=1e-4, atol=1e-4)
    grad = torch.randn_like(out_ref)
    ref.zero_grad()
    ours.zero_grad()
    (out_ref * grad).sum().backward()
    (out_ours * grad).sum().backward()
    # named_parameters() lists a shared module once, under its first name
    ref_params = dict(ref.named_parameters())
    scale = float(max(p.grad.abs().max() for p in ref_params.values()))
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, ref_params[name].grad, rtol=1e-4,
                                   atol=1e-4 * scale, msg=name)
    for t_ref, t_ours in zip(flat(ref_args), flat(ours_args)):
        if t_ref.grad is None:  # an input the model does not read
            assert t_ours.grad is None
            continue
        torch.testing.assert_close(
            t_ours.grad, t_ref.grad, rtol=1e-4,
            atol=1e-4 * float(t_ref.grad.abs().max()))


def graph_node_names(tensor):
    """Class names of every autograd node behind ``tensor``."""
    seen, stack, names = set(), [tensor.grad_fn], []
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.append(type(node).__name__)
        stack.extend(fn for fn, _ in node.next_functions)
    return names


def set_gamma(block, value=0.7):
    """Fill a DANet-style block's learnt residual scale (zero at init, which
    would hide the attention) with ``value``; returns the block."""
    import torch
    with torch.no_grad():
        block.gamma.scale.fill_(value)
    return block


def assert_same_outputs_and_grads(ref, ours, x, upstream, rtol=1e-4,
                                  atol=1e-4):
    """``ours(x)`` equals ``ref(x)``, and so do the gradients of ``(out *
    upstream).sum()`` with respect to ``x`` and each parameter, whose names
    must be the same and in the same order."""
    import torch

    def forward_and_grads(module):
        xi = x.clone().requires_grad_()
        out = module(xi)
        grads = torch.autograd.grad(out, [xi, *module.parameters()],
                                    upstream)
        return out.detach(), grads

    out_ref, grads_ref = forward_and_grads(ref)
    out, grads = forward_and_grads(ours)
    torch.testing.assert_close(out, out_ref, rtol=rtol, atol=atol)
    assert [k for k, _ in ours.named_parameters()] == \
        [k for k, _ in ref.named_parameters()]
    for g, g_ref in zip(grads, grads_ref):
        torch.testing.assert_close(g, g_ref, rtol=rtol, atol=atol)


def assert_deterministic(blocks, channels=16, shape=(2, 9, 7), forbid=()):
    """Under ``torch.use_deterministic_algorithms(True)``, two training-mode
    forward+backward passes of each block give bit-identical outputs and
    gradients (and none of its ops refuses the mode).

    ``blocks``: ``{name: (make, ...)}`` where ``make(channels)`` builds one.
    ``forbid``: substrings no autograd node of the output may contain (e.g.
    ``'Pool'``: pooling ops whose CUDA backward is not deterministic).
    """
    import torch
    torch.manual_seed(0)
    x = torch.randn(shape[0], channels, *shape[1:])
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        for name, (make, *_) in blocks.items():
            block = randomise(make(channels)).train()
            runs = []
            for _ in range(2):
                block.zero_grad()
                torch.manual_seed(1)  # the same dropout masks (BAT)
                xi = x.clone().requires_grad_(True)
                out = block(xi)
                names = graph_node_names(out)
                assert not [n for n in names for f in forbid if f in n], \
                    (name, names)
                out.square().sum().backward()
                runs.append([out.detach(), xi.grad]
                            + [p.grad.clone() for p in block.parameters()])
            for a, b in zip(*runs):
                assert torch.equal(a, b), name
    finally:
        torch.use_deterministic_algorithms(previous)


def export_opset17_and_check(block, path, channels=16):
    """Export ``block`` with the TorchScript exporter (the one that writes
    opset 17 as asked) with dynamic H and W, then check that the file says
    so and that onnxruntime matches PyTorch at two other sizes."""
    import torch
    onnx = pytest.importorskip('onnx')
    torch.onnx.export(block, (torch.randn(2, channels, 8, 8), ), str(path),
                      dynamo=False, opset_version=17, input_names=['x'],
                      output_names=['y'],
                      dynamic_axes={'x': {2: 'h', 3: 'w'},
                                    'y': {2: 'h', 3: 'w'}})
    model = onnx.load(str(path))
    assert {o.domain: o.version for o in model.opset_import}[''] == 17
    check_onnx_dynamic_hw(path, block, channels, model)


def check_onnx_dynamic_hw(path, block, channels=16, model=None):
    """The exported input has symbolic H and W, and onnxruntime matches
    PyTorch at 9x13 and 20x6 (1e-4)."""
    import torch
    onnx = pytest.importorskip('onnx')
    ort = pytest.importorskip('onnxruntime')
    model = model or onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param != '' for d in dims] == [False, False, True, True]
    session = ort.InferenceSession(str(path),
                                   providers=['CPUExecutionProvider'])
    for size in [(9, 13), (20, 6)]:
        x = torch.randn(2, channels, *size)
        out = session.run(None, {session.get_inputs()[0].name: x.numpy()})
        with torch.no_grad():
            torch.testing.assert_close(torch.from_numpy(out[0]), block(x),
                                       rtol=1e-4, atol=1e-4)


def read_scalars(work_dir):
    """The per-iteration training scalars an mmengine run logged."""
    records = []
    for dirpath, _, files in os.walk(work_dir):
        if 'scalars.json' in files:
            with open(osp.join(dirpath, 'scalars.json')) as f:
                records += [json.loads(line) for line in f if line.strip()]
    return records


def config_path(*parts):
    """A config shipped with mmattn (``configs/``)."""
    return osp.join(ROOT, 'configs', *parts)


#: The long-range benchmark, an experiment on mmattn (``projects/``).
LONG_RANGE = osp.join(ROOT, 'projects', 'long_range')


def long_range_config(task, name):
    """A config of the long-range benchmark: ``task`` is 'seg', 'det' or
    'cls'."""
    return osp.join(LONG_RANGE, 'configs', task, name)
