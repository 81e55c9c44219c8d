"""Shared fixtures (small synthetic datasets in the real on-disk formats)
and pytest hooks. Helpers the tests import live in ``tests/helpers.py``."""
import os
import os.path as osp
import sys

import pytest

from mmattn.testing import reset_mmengine_singletons

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))
# the long-range benchmark (projects/long_range): its package and its tools
sys.path.insert(0, osp.join(ROOT, 'projects', 'long_range'))
sys.path.insert(0, osp.join(ROOT, 'projects', 'long_range', 'tools'))
os.environ.setdefault('OMP_NUM_THREADS', '2')


@pytest.fixture(scope='session')
def cityscapes_root(tmp_path_factory):
    from mmattn.datasets import make_cityscapes
    root = tmp_path_factory.mktemp('cityscapes')
    make_cityscapes(str(root), num_train=4, num_val=2, size=(64, 128), seed=0,
                    overwrite=True)
    return str(root)


@pytest.fixture(scope='session')
def coco_root(tmp_path_factory):
    from mmattn.datasets import make_coco
    root = tmp_path_factory.mktemp('coco')
    make_coco(str(root), num_train=4, num_val=2, size=(96, 96), seed=0,
              overwrite=True)
    return str(root)


@pytest.fixture(scope='session')
def imagenet_root(tmp_path_factory):
    from mmattn.datasets import make_imagenet
    root = tmp_path_factory.mktemp('imagenet')
    make_imagenet(str(root), num_train=2, num_val=2, size=(64, 64), seed=0)
    return str(root)


@pytest.fixture(scope='session')
def cifar10_root(tmp_path_factory):
    """Synthetic CIFAR-10; use it inside ``accept_synthetic_cifar``."""
    from mmattn.datasets import make_cifar
    root = tmp_path_factory.mktemp('cifar10')
    make_cifar(str(root), 'cifar10', num_train=10, num_val=2, seed=0)
    return str(root)


@pytest.fixture(autouse=True)
def _fresh_mmengine_state():
    reset_mmengine_singletons()
    yield
    reset_mmengine_singletons()


@pytest.fixture
def runtime_on():
    """mmattn.runtime installed (what mmattn's tools run with); another test
    may have uninstalled it."""
    import mmattn.runtime
    mmattn.runtime.install()
    yield


@pytest.fixture
def runtime_off():
    """mmattn.runtime uninstalled for the test, installed again after."""
    import mmattn.runtime
    mmattn.runtime.uninstall()
    try:
        yield
    finally:
        mmattn.runtime.install()


@pytest.fixture
def several_chunks(monkeypatch):
    """Make mmattn.ops.attention's chunked path split even tiny maps into
    blocks of a few query rows, so the chunk boundaries are exercised."""
    import mmattn.ops.attention as attention_op
    monkeypatch.setattr(attention_op, '_CHUNK_BYTES', 256)
    monkeypatch.setattr(attention_op, '_MIN_CHUNK_ROWS', 1)


# The stack subset (pytest -m stack), run by tools/check_stacks.sh on every
# supported torch: import and registration, one training iteration per task
# (segmentation, detection, classification), resume, ONNX export, the ops.
STACK_SUBSET = (
    'tests/models/test_registration.py::',
    'tests/ops/',
    'tests/tools/test_train_resume.py::test_resume_reproduces_uninterrupted',
    'tests/tools/test_train_resume.py::test_seg_smoke_train_and_evaluate',
    'tests/tools/test_train_resume.py::test_det_smoke_train_and_evaluate',
    'tests/configs/test_configs_train.py::test_config_trains_one_iteration'
    '[configs/classification/resnet50-se_8xb32_in1k.py]',
    'tests/configs/test_configs_train.py::test_config_trains_one_iteration'
    '[configs/spanet/spanet_r50-d8_4xb2-80k_cityscapes-512x1024.py]',
    'tests/configs/test_configs_train.py::test_config_trains_one_iteration'
    '[configs/spanet/faster-rcnn_r50-spanet_fpn_1x_coco.py]',
    'tests/tools/test_export_onnx.py::test_export_tool_verifies_and_onnx',
    'tests/tools/test_build_mmcv.py::',
    'tests/engine/test_torchvision_standin.py::',
)


def pytest_collection_modifyitems(items):
    for item in items:
        if item.nodeid.startswith(STACK_SUBSET):
            item.add_marker(pytest.mark.stack)


def pytest_terminal_summary(terminalreporter):
    """Print how many fuzz cases each block went through, by outcome."""
    fuzz = sys.modules.get('test_fuzz')
    counts = getattr(fuzz, 'FUZZ_COUNTS', None)
    if not counts:
        return
    write = terminalreporter.write_line
    total = sum(sum(c.values()) for c in counts.values())
    write(f'fuzz (tests/blocks/test_fuzz.py): {total} cases over '
          f'{len(counts)} blocks and heads')
    outcomes = sorted({o for c in counts.values() for o in c})
    for outcome in outcomes:
        write(f'  {outcome:36s} '
              f'{sum(c[outcome] for c in counts.values()):6d}')
    for block, messages in sorted(fuzz.FUZZ_REFUSALS.items()):
        for message in sorted(messages):
            write(f'  {block} refused: {message}')
