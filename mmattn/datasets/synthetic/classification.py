"""The classification writers: ImageNet (folders + annotation files) and
CIFAR-10/100 (pickled batches), as mmpretrain's ``ImageNet``, ``CIFAR10`` and
``CIFAR100`` read them.

Each image is a side-bar scene of the segmentation benchmark; its label is
the class of the bar's colour (:data:`IMAGENET_CUE_CLASSES`,
:data:`CIFAR_CUE_CLASSES`). Unlike a pixel's label, an image's label is
read by a network that sees the whole image through its global pooling, so
here the cue is not out of any model's reach: these sets exercise the
formats, the pipelines and the training path, not long-range context.
"""
import hashlib
import os
import os.path as osp
import pickle

import numpy as np
from PIL import Image

from .meta import finish_dataset, start_dataset
from .scene import _image_rng, _make_scene
from .tables import CIFAR_CUE_CLASSES, IMAGENET_CUE_CLASSES

#: WordNet ids of :data:`IMAGENET_CUE_CLASSES`, the names of the real
#: ImageNet training folders.
IMAGENET_CUE_WNIDS = ('n01443537', 'n01484850', 'n01644373', 'n02056570',
                      'n03792782', 'n03345487', 'n06874185', 'n09472597')

#: Per variant: folder, training files, test file, meta file, label key and
#: label-name key, as in the real archives (and mmpretrain's classes).
_CIFAR_LAYOUT = {
    'cifar10': dict(folder='cifar-10-batches-py',
                    train=[f'data_batch_{i}' for i in range(1, 6)],
                    test='test_batch', meta='batches.meta',
                    label_key='labels', names_key='label_names'),
    'cifar100': dict(folder='cifar-100-python', train=['train'],
                     test='test', meta='meta', label_key='fine_labels',
                     names_key='fine_label_names'),
}


_CIFAR_USED_NAMES = {
    'cifar10': ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog',
                'frog', 'horse'),
    'cifar100': ('apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed',
                 'bee', 'beetle'),
}


def _label_names(variant):
    """The meta file's label names: the real ones of the classes used, a
    placeholder for the others (mmpretrain takes its names from its own
    tables, not from this file)."""
    count = 10 if variant == 'cifar10' else 100
    names = [f'unused_{i}' for i in range(count)]
    for label, name in zip(CIFAR_CUE_CLASSES, _CIFAR_USED_NAMES[variant]):
        names[label] = name
    return names


def _scene(fmt, seed, split, index, h, w, margin=None, cue_width=None):
    scene = _make_scene(_image_rng(fmt, seed, split, index), h, w,
                        margin=margin, cue_width=cue_width)
    return scene['image'], scene['cues']['angular']  # one bar: one cue


def make_imagenet(out_dir, num_train=8, num_val=4, size=(96, 96), seed=0,
                  overwrite=False, margin=None, cue_width=None):
    """Write a small synthetic dataset in the ImageNet-1k layout::

        out_dir/
          train/<wnid>/<wnid>_<n>.JPEG
          val/ILSVRC2012_val_<8-digit n>.JPEG
          meta/train.txt    "<wnid>/<wnid>_<n>.JPEG <class index>" lines
          meta/val.txt      "ILSVRC2012_val_<n>.JPEG <class index>" lines
          synthetic_meta.json

    what mmpretrain's ``ImageNet(data_root=out_dir, split=...)`` reads with
    its 1000 classes; the labels used are :data:`IMAGENET_CUE_CLASSES`.

    Args:
        out_dir (str): Dataset root; created if missing.
        num_train (int): Training images. Default: 8.
        num_val (int): Validation images. Default: 4.
        size (tuple[int, int]): ``(height, width)``, each in [48, 4096].
            Default: ``(96, 96)``.
        seed (int): Non-negative seed; the same seed gives identical files.
        overwrite (bool): Replace earlier generated data in ``out_dir``.
        margin (int, optional): Least distance in pixels between a shape
            and the bar (see ``docs/synthetic_data.md``).
        cue_width (int, optional): Width in pixels of the bar.

    Returns:
        dict: ``format``, ``out_dir``, ``size``, ``seed``, ``num_images``,
        ``labels`` (dict split -> list of class indices) and ``meta_file``.
    """
    h, w, meta = start_dataset('imagenet', out_dir, ['train', 'val', 'meta'],
                               size, num_train, num_val, seed, 'side-bar',
                               margin, IMAGENET_CUE_CLASSES, overwrite,
                               cue_width)
    os.makedirs(osp.join(out_dir, 'meta'), exist_ok=True)
    labels = {}
    for split, count in (('train', num_train), ('val', num_val)):
        lines, labels[split] = [], []
        for index in range(count):
            image, cue = _scene('imagenet', seed, split, index, h, w, margin,
                                cue_width)
            if split == 'train':
                wnid = IMAGENET_CUE_WNIDS[cue]
                rel = f'{wnid}/{wnid}_{index}.JPEG'
            else:
                rel = f'ILSVRC2012_val_{index + 1:08d}.JPEG'
            path = osp.join(out_dir, split, rel)
            os.makedirs(osp.dirname(path), exist_ok=True)
            Image.fromarray(image).save(path, format='JPEG', quality=95,
                                        subsampling=0)
            label = IMAGENET_CUE_CLASSES[cue]
            lines.append(f'{rel} {label}\n')
            labels[split].append(label)
        with open(osp.join(out_dir, 'meta', f'{split}.txt'), 'w') as f:
            f.writelines(lines)
    meta['labels'] = labels
    return finish_dataset(out_dir, meta, num_train, num_val, labels=labels)


def make_cifar(out_dir, variant='cifar10', num_train=10, num_val=4, seed=0,
               overwrite=False):
    """Write a small synthetic dataset in the layout of the CIFAR python
    archives (``cifar-10-batches-py/data_batch_1..5, test_batch,
    batches.meta`` or ``cifar-100-python/train, test, meta``): pickled dicts
    with ``data`` (N, 3072) uint8 in channel planes, labels and file names.

    Scenes are drawn at 64x64 and reduced to CIFAR's 32x32 by box
    averaging. The training images are split in order over the five
    CIFAR-10 batches.

    mmpretrain's ``CIFAR10``/``CIFAR100`` check each file's MD5 against the
    real archive's; the sums of these files are returned and recorded in
    the meta file, and :func:`mmattn.testing.accept_synthetic_cifar` puts
    them in place of the real ones.

    Args:
        out_dir (str): Dataset root (the ``data_root`` of the dataset).
        variant (str): ``'cifar10'`` or ``'cifar100'``.
        num_train (int): Training images. Default: 10.
        num_val (int): Test images. Default: 4.
        seed (int): Non-negative seed.
        overwrite (bool): Replace earlier generated data in ``out_dir``.

    Returns:
        dict: As :func:`make_imagenet`'s, plus ``checksums`` (file -> MD5).
    """
    if variant not in _CIFAR_LAYOUT:
        raise ValueError(f'variant must be one of {sorted(_CIFAR_LAYOUT)}, '
                         f'got {variant!r}')
    layout = _CIFAR_LAYOUT[variant]
    folder = osp.join(out_dir, layout['folder'])
    _, _, meta = start_dataset(variant, out_dir, [layout['folder']],
                               (64, 64), num_train, num_val, seed, 'side-bar',
                               None, CIFAR_CUE_CLASSES, overwrite)
    os.makedirs(folder)
    labels = {}
    files = {}
    for split, count, names in (('train', num_train, layout['train']),
                                ('val', num_val, [layout['test']])):
        batches = [dict(data=[], labels=[], filenames=[]) for _ in names]
        labels[split] = []
        for index in range(count):
            image, cue = _scene(variant, seed, split, index, 64, 64)
            small = np.asarray(Image.fromarray(image).resize(
                (32, 32), Image.BOX))
            # contiguous runs, as in the real batches: the files read in
            # order give the images in index order
            batch = batches[index * len(names) // max(count, 1)]
            batch['data'].append(small.transpose(2, 0, 1).reshape(-1))
            batch['labels'].append(CIFAR_CUE_CLASSES[cue])
            labels[split].append(CIFAR_CUE_CLASSES[cue])
            batch['filenames'].append(f'synthetic_{split}_{index}.png')
        for name, batch in zip(names, batches):
            entry = {
                'batch_label': f'synthetic {name}',
                layout['label_key']: batch['labels'],
                'data': np.array(batch['data'], np.uint8).reshape(-1, 3072),
                'filenames': batch['filenames']}
            if variant == 'cifar100':
                entry['coarse_labels'] = [0] * len(batch['labels'])
            files[name] = entry
    files[layout['meta']] = {layout['names_key']: _label_names(variant)}
    checksums = {}
    for name, entry in files.items():
        data = pickle.dumps(entry, protocol=2)  # the archive's protocol
        with open(osp.join(folder, name), 'wb') as f:
            f.write(data)
        checksums[name] = hashlib.md5(data).hexdigest()
    meta['labels'] = labels
    meta['checksums'] = checksums
    return finish_dataset(out_dir, meta, num_train, num_val, labels=labels,
                          checksums=checksums)
