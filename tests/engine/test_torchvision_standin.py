"""mmpretrain (and timm) import without torchvision through the stand-in of
mmattn.engine.torchvision_standin, and nothing else sees the stand-in.

Each test runs in a fresh interpreter in which torchvision cannot be
imported: where it is installed (the default stack), an import hook refuses
it, as a machine without it would; so the stand-in is tested on every
stack."""
import subprocess
import sys
import textwrap

# Put first on sys.meta_path: torchvision is refused as if not installed.
WITHOUT_TORCHVISION = textwrap.dedent('''
    import importlib.abc, sys

    class _NoTorchvision(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == 'torchvision' or name.startswith('torchvision.'):
                raise ModuleNotFoundError(f'No module named {name!r}',
                                          name=name)
            return None

    sys.meta_path.insert(0, _NoTorchvision())
''')


def _run_without_torchvision(code):
    done = subprocess.run(
        [sys.executable, '-c', WITHOUT_TORCHVISION + textwrap.dedent(code)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def test_mmpretrain_is_imported_on_use_and_the_stand_in_is_gone():
    out = _run_without_torchvision('''
        import mmattn
        # import mmattn neither imports mmpretrain nor fakes torchvision
        assert 'mmpretrain.models' not in sys.modules
        assert not [n for n in sys.modules if n.startswith('torchvision')]
        from mmattn.registry import MODELS
        net = MODELS.build(dict(type='CIFARResNet', depth=20))
        assert type(net).__mro__[1].__module__.startswith('mmpretrain.')
        assert 'mmpretrain.models' in sys.modules
        assert not [n for n in sys.modules if n.startswith('torchvision')]
        try:
            import torchvision
        except ModuleNotFoundError:
            print('torchvision still missing')
    ''')
    assert 'torchvision still missing' in out


def test_calling_a_stand_in_attribute_names_it():
    out = _run_without_torchvision('''
        import mmattn
        from mmattn.engine import TorchvisionMissing, import_mmpretrain
        import_mmpretrain()
        from mmpretrain.datasets.transforms import processing
        try:
            processing.F.resized_crop(None, 0, 0, 1, 1, 1)
        except TorchvisionMissing as err:
            print(err)
    ''')
    assert 'torchvision.transforms.functional.resized_crop needs ' \
        'torchvision' in out


def test_the_stand_in_lives_only_inside_the_block():
    out = _run_without_torchvision('''
        from mmattn.engine import torchvision_standin
        with torchvision_standin():
            import torchvision.ops.boxes as boxes
            assert boxes.box_iou.__qualname__ == \\
                'torchvision.ops.boxes.box_iou'
            # subclassing and dict keys work: what importers do at import
            assert {boxes.box_iou: 1}[boxes.box_iou] == 1
            assert boxes.box_iou.real is boxes.box_iou.real
            assert issubclass(type('Sub', (boxes.box_iou,), {}),
                              boxes.box_iou)
        assert 'torchvision' not in sys.modules
        try:
            import torchvision
        except ModuleNotFoundError:
            print('gone after the block')
    ''')
    assert 'gone after the block' in out


def test_mmpretrain_works_when_mmdet_imported_it_first():
    # mmdet's ReID models try `import mmpretrain` and carry on when it
    # fails, leaving half of mmpretrain in sys.modules: import_mmpretrain
    # (which mmattn's tools call for an mmpretrain config) completes it.
    out = _run_without_torchvision('''
        import mmdet.models
        assert 'mmpretrain.models' not in sys.modules
        import mmattn, torch
        assert 'mmpretrain.models' not in sys.modules
        from mmattn.engine import import_mmpretrain
        import_mmpretrain()
        from mmengine.registry import MODELS, init_default_scope
        init_default_scope('mmpretrain')
        model = MODELS.build(dict(
            type='ImageClassifier', backbone=dict(type='ResNet', depth=18),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=3, in_channels=512)))
        print(tuple(model(torch.randn(2, 3, 32, 32)).shape))
    ''')
    assert out.strip().endswith('(2, 3)')


def test_nothing_is_replaced_where_torchvision_imports():
    """With the real torchvision (where installed), mmpretrain gets it."""
    import importlib.util
    if importlib.util.find_spec('torchvision') is None:
        import pytest
        pytest.skip('torchvision is not installed here')
    code = ('import mmattn, sys, torchvision\n'
            'from mmpretrain.datasets.transforms import processing\n'
            'print(processing.F.__name__, hasattr(torchvision, "__file__"))')
    done = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ['torchvision.transforms.functional',
                                   'True']
