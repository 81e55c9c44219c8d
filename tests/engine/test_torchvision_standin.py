"""mmpretrain (and timm) import without torchvision through the stand-in of
mmattn.engine.torchvision_standin, and nothing else sees the stand-in."""
import importlib.util
import subprocess
import sys
import textwrap

import pytest

import mmattn  # noqa: F401  (imports mmpretrain through the stand-in)
from mmattn.engine import TorchvisionMissing, torchvision_standin

no_torchvision = pytest.mark.skipif(
    importlib.util.find_spec('torchvision') is not None,
    reason='torchvision is installed: the stand-in is never used')


@no_torchvision
def test_mmpretrain_is_imported_and_the_stand_in_is_gone():
    assert 'mmpretrain.models' in sys.modules
    assert not [n for n in sys.modules if n.startswith('torchvision')]
    with pytest.raises(ModuleNotFoundError):
        import torchvision  # noqa: F401


@no_torchvision
def test_calling_a_stand_in_attribute_names_it():
    from mmpretrain.datasets.transforms import processing
    with pytest.raises(TorchvisionMissing,
                       match='torchvision.transforms.functional.resized_crop'
                       ' needs torchvision'):
        processing.F.resized_crop(None, 0, 0, 1, 1, 1)


@no_torchvision
def test_the_stand_in_lives_only_inside_the_block():
    with torchvision_standin():
        import torchvision.ops.boxes as boxes
        assert boxes.box_iou.__qualname__ == 'torchvision.ops.boxes.box_iou'
        # subclassing and dict keys work: what importers do at import time
        assert {boxes.box_iou: 1}[boxes.box_iou] == 1
        assert boxes.box_iou.real is boxes.box_iou.real
        assert issubclass(type('Sub', (boxes.box_iou,), {}), boxes.box_iou)
    assert 'torchvision' not in sys.modules
    with pytest.raises(ModuleNotFoundError):
        import torchvision  # noqa: F401,F811


@no_torchvision
def test_mmpretrain_works_when_mmdet_imported_it_first():
    # mmdet's ReID models try `import mmpretrain` and carry on when it
    # fails, leaving half of mmpretrain in sys.modules: mmattn completes it.
    code = textwrap.dedent('''
        import mmdet.models, sys
        assert 'mmpretrain.models' not in sys.modules
        import mmattn, torch
        from mmengine.registry import MODELS, init_default_scope
        init_default_scope('mmpretrain')
        model = MODELS.build(dict(
            type='ImageClassifier', backbone=dict(type='ResNet', depth=18),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=3, in_channels=512)))
        print(tuple(model(torch.randn(2, 3, 32, 32)).shape))
    ''')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith('(2, 3)')
