"""Checks that every registered block must pass, as functions of the class.

tests/blocks/test_registered_blocks.py runs them over
``mmattn.blocks.catalog.registered_blocks()``; the throwaway-block test runs
them on a block defined in a temporary file, to show that a new block is
exercised without any list being edited.
"""
import importlib.util
import inspect
import os.path as osp

import torch
from helpers import ROOT, assert_deterministic, build_resnet50
from helpers import check_onnx_dynamic_hw as check_onnx_dynamic_hw_file
from helpers import export_opset17_and_check, randomise

from mmattn.blocks.catalog import plugin_kwargs

#: Width of the maps the checks feed: a multiple of 32, which every block's
#: small_cfg accepts (SK groups, FcaNet's 16 frequency groups, SASA heads).
CHANNELS = 32


def make_small(cls, channels=CHANNELS, **extra):
    """``cls(channels, **plugin_cfg, **small_cfg, **extra)``."""
    return cls(channels, **plugin_kwargs(cls, small=True), **extra)


def check_onnx_dynamic_hw(cls, tmp_path):
    """Exports with dynamic H and W and matches PyTorch in onnxruntime at two
    other sizes: the TorchScript exporter at opset 17, or, for a block that
    calls an mmattn custom op (which that exporter cannot take), the dynamo
    exporter with the op's translation table (opset 18), as users export
    it."""
    torch.manual_seed(0)
    block = randomise(make_small(cls)).eval()
    path = tmp_path / f'{cls.__name__}.onnx'
    try:
        export_opset17_and_check(block, path, channels=CHANNELS)
    except torch.onnx.errors.UnsupportedOperatorError as error:
        if 'mmattn::' not in str(error):
            raise
        from mmattn.ops.salient import onnx_translation_table
        dims = {2: torch.export.Dim('h', min=2, max=512),
                3: torch.export.Dim('w', min=2, max=512)}
        torch.onnx.export(block, (torch.randn(2, CHANNELS, 8, 8), ),
                          str(path), dynamo=True, dynamic_shapes=(dims, ),
                          custom_translation_table=onnx_translation_table())
        check_onnx_dynamic_hw_file(path, block, CHANNELS)


def check_deterministic(cls):
    """Bit-identical outputs and gradients under deterministic algorithms."""
    assert_deterministic({cls.__name__: (lambda c: make_small(cls, c), )},
                         channels=CHANNELS, shape=(2, 12, 10))


def check_bf16_autocast(cls, scale=10.):
    """Under CPU bf16 autocast, inputs of magnitude ``scale`` give a finite
    output within 10% (relative L2) of float32. (bfloat16 keeps 8 bits of
    mantissa; blocks whose attention logits follow autocast lose more than
    the others: the errors measured are in docs/blocks.md.)"""
    torch.manual_seed(0)
    block = randomise(make_small(cls)).eval()
    x = torch.randn(2, CHANNELS, 12, 10) * scale
    with torch.no_grad():
        expected = block(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = block(x)
    assert out.shape == expected.shape
    assert torch.isfinite(out).all()
    error = (out.float() - expected).norm() / expected.norm().clamp_min(1e-12)
    assert error < 0.1, f'{cls.__name__}: relative error {error:.3g}'


def special_init_kwargs(cls):
    """Constructor flags that switch a special initialisation on (every
    boolean argument whose name says zero-init), all set to True."""
    params = inspect.signature(cls.__init__).parameters
    return {name: True for name in params if 'zero' in name}


def check_init_survives_resnet(cls):
    """Built into mmdet's ResNet-50 (stage 4, after conv3: 2048 channels)
    with its special inits on, every tensor of the block that is constant
    at construction (zero-init convs and norms, fixed gates) keeps its value
    through the backbone's ``init_weights()`` (Kaiming convs, constant
    norms): the block's ``init_weights`` re-applies them."""
    kwargs = dict(plugin_kwargs(cls, small=True), **special_init_kwargs(cls))
    plugins = [dict(cfg=dict(type=f'mmattn.{cls.__name__}', **kwargs),
                    stages=(False, False, False, True),
                    position='after_conv3')]
    torch.manual_seed(0)
    model = build_resnet50('mmdet', plugins=plugins)
    block = next(m for m in model.modules() if type(m) is cls)
    constant = {
        name: value.clone()
        for name, value in block.state_dict().items()
        if value.is_floating_point() and value.numel() > 1
        and bool((value == value.flatten()[0]).all())
    }
    model.init_weights()
    after = block.state_dict()
    changed = [name for name, value in constant.items()
               if not torch.equal(after[name], value)]
    assert not changed, (f'{cls.__name__}: the backbone init changed '
                         f'{changed}; re-apply them in init_weights()')


def reference_marks(paths=None):
    """``{class: [test names]}`` of the tests marked
    ``@pytest.mark.reference(blocks=[...])`` in the test files ``paths``
    (default: tests/blocks and tests/models)."""
    import glob
    if paths is None:
        paths = sorted(
            glob.glob(osp.join(ROOT, 'tests', 'blocks', 'test_*.py'))
            + glob.glob(osp.join(ROOT, 'tests', 'models', 'test_*.py')))
    found = {}
    for path in paths:
        module = load_module_from(
            path, 'reference_scan_' + osp.splitext(osp.basename(path))[0])
        for attr, func in vars(module).items():
            if not attr.startswith('test_') or not callable(func):
                continue
            for mark in getattr(func, 'pytestmark', []):
                if mark.name == 'reference':
                    for cls in mark.kwargs['blocks']:
                        found.setdefault(cls, []).append(
                            f'{osp.basename(path)}::{attr}')
    return found


def load_module_from(path, name):
    """Import the Python file ``path`` as module ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


__all__ = [
    'CHANNELS', 'make_small', 'check_onnx_dynamic_hw', 'check_deterministic',
    'check_bf16_autocast', 'check_init_survives_resnet', 'reference_marks',
    'load_module_from'
]


def check_plugin_in_resnet(scope, cfg, second_position, identity=None,
                           batch=2):
    """``cfg`` as a plugin after conv3 of layer2's blocks and (postfix
    ``'_2'``) at ``second_position`` in layer1's, in mmseg's or mmdet's
    ResNet-50 after its init_weights(): the right class and widths, nowhere
    else, ``identity * x`` at the start when ``identity`` is given (a zero
    init that survives the backbone's init_cfg), and a training forward and
    backward that reaches the plugin's parameters."""
    from mmattn.registry import MODELS
    cls = MODELS.get(cfg['type'].split('.')[1])
    abbr = cls._abbr_
    model = build_resnet50(scope, norm_cfg=dict(type='BN'), plugins=[
        dict(cfg=cfg, stages=(False, True, False, False),
             position='after_conv3'),
        dict(cfg=dict(cfg, postfix='_2'), stages=(True, False, False, False),
             position=second_position)])
    model.init_weights()  # the backbone's init_cfg, then the children's
    plugin = getattr(model.layer2[0], abbr)
    assert type(plugin) is cls and plugin.in_channels == 512
    assert getattr(model.layer1[1], abbr + '_2').in_channels == 64
    assert model.layer2[0].after_conv3_plugin_names == [abbr]
    assert not hasattr(model.layer3[0], abbr)
    if identity is not None:
        x = torch.randn(2, 512, 5, 7)
        torch.testing.assert_close(plugin(x), identity * x)
    model.train()
    outs = model(torch.randn(batch, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [256, 512, 1024, 2048]
    sum(o.mean() for o in outs).backward()
    assert all(p.grad is not None for p in plugin.parameters())
