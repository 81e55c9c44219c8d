"""The synthetic ImageNet and CIFAR sets, read by mmpretrain's own dataset
classes; the label of every image is the class of its bar's colour."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mmattn.datasets import (CIFAR_CUE_CLASSES, IMAGENET_CUE_CLASSES,
                             MARKER_PALETTE, decode_marker, make_cifar)
from mmattn.testing import accept_synthetic_cifar

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLI = osp.join(REPO, 'tools', 'dataset_converters', 'make_synthetic.py')


def _bar_class(image, classes):
    """The class of the bar: the side column nearest a palette colour."""
    best = None
    for column in (image[:, 0], image[:, -1]):
        rgb = column[len(column) // 4: -len(column) // 4].mean(axis=0)
        index = decode_marker(rgb)
        dist = np.abs(np.asarray(MARKER_PALETTE[index]) - rgb).max()
        if best is None or dist < best[0]:
            best = (dist, index)
    assert best[0] < 40, 'no bar colour at either side'
    return classes[best[1]]


@pytest.fixture(scope='module')
def imagenet_cli_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('imagenet_cli'))
    out = subprocess.run(
        [sys.executable, CLI, '--format', 'imagenet', '--out', root,
         '--num-train', '6', '--num-val', '3'], capture_output=True,
        text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return root


def test_imagenet_layout_read_by_mmpretrain(imagenet_cli_root):
    from mmengine.registry import init_default_scope
    from mmpretrain.datasets import ImageNet
    init_default_scope('mmpretrain')
    root = imagenet_cli_root
    lines = open(osp.join(root, 'meta', 'train.txt')).read().splitlines()
    assert len(lines) == 6
    for line in lines:
        rel, label = line.split()
        wnid = rel.split('/')[0]
        assert rel == f'{wnid}/{osp.basename(rel)}' and wnid[0] == 'n'
    for split, count in (('train', 6), ('val', 3)):
        dataset = ImageNet(data_root=root, split=split)
        assert len(dataset) == count
        assert len(dataset.metainfo['classes']) == 1000
        for i in range(count):
            info = dataset.get_data_info(i)
            assert info['gt_label'] in IMAGENET_CUE_CLASSES
            image = np.asarray(Image.open(info['img_path']).convert('RGB'))
            assert image.shape == (96, 96, 3)
            assert _bar_class(image, IMAGENET_CUE_CLASSES) == \
                info['gt_label']
    val = open(osp.join(root, 'meta', 'val.txt')).read().split()
    assert val[0] == 'ILSVRC2012_val_00000001.JPEG'


@pytest.mark.parametrize('variant', ['cifar10', 'cifar100'])
def test_cifar_read_by_mmpretrain(tmp_path, variant):
    from mmpretrain.datasets import CIFAR10, CIFAR100
    cls = CIFAR10 if variant == 'cifar10' else CIFAR100
    summary = make_cifar(str(tmp_path), variant, num_train=7, num_val=3)
    # the real archive's checksums: refused, and nothing is downloaded
    with pytest.raises(RuntimeError, match=f'Cannot find {cls.__name__}'):
        cls(data_root=str(tmp_path), split='train', download=False)
    with accept_synthetic_cifar(str(tmp_path)):
        for split, count in (('train', 7), ('test', 3)):
            dataset = cls(data_root=str(tmp_path), split=split,
                          download=False)
            assert len(dataset) == count
            labels = [dataset.get_data_info(i)['gt_label']
                      for i in range(count)]
            assert labels == summary['labels'][
                'train' if split == 'train' else 'val']
            for i in range(count):
                image = dataset.get_data_info(i)['img']
                assert image.shape == (32, 32, 3) and image.dtype == np.uint8
                assert _bar_class(image, CIFAR_CUE_CLASSES) == labels[i]
    assert cls.train_list[0][1] != summary['checksums'][cls.train_list[0][0]]


def test_cifar_same_seed_same_files(tmp_path):
    a = make_cifar(str(tmp_path / 'a'), num_train=5, num_val=1, seed=3)
    b = make_cifar(str(tmp_path / 'b'), num_train=5, num_val=1, seed=3)
    c = make_cifar(str(tmp_path / 'c'), num_train=5, num_val=1, seed=4)
    assert a['checksums'] == b['checksums']
    assert a['checksums']['data_batch_1'] != c['checksums']['data_batch_1']


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='variant must be one of'):
        make_cifar(str(tmp_path), 'cifar1000')
    out = subprocess.run(
        [sys.executable, CLI, '--format', 'cifar10', '--out', str(tmp_path),
         '--size', '48x48'], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and '--size cannot be set' in out.stderr
