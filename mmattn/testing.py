"""Config overrides that shrink a stock config to a CPU smoke run on the
synthetic datasets of :mod:`mmattn.datasets` (used by the tests and the demo).

Each function returns a dict for ``--cfg-options`` (``Config.merge_from_dict``)
and a matching list of ``key=value`` strings for the command line; both point
the data loaders at ``data_root``, drop pretrained weights (nothing may be
downloaded), run in the main process and shrink image sizes and iterations.

:func:`randomise` is the weight randomisation of the block tests, shared with
``tools/analysis_tools/gpu_check.py`` (this module imports nothing at import
time, so the GPU check reaches it without OpenMMLab).
"""
import contextlib


def _as_argv(options):
    # DictAction reads tuples, numbers and None from their str(); strings are
    # taken verbatim, so they must not be quoted.
    return [f'{k}={v}' for k, v in options.items()]


def _loaders_reading(data_root):
    """The three data loaders in the main process (no workers to start or
    keep), each reading ``data_root``."""
    opts = {}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts[f'{loader}.num_workers'] = 0
        opts[f'{loader}.persistent_workers'] = False
        opts[f'{loader}.dataset.data_root'] = data_root
    return opts


def seg_smoke_options(data_root, size=(128, 256), iters=2, batch_size=2,
                      val_interval=None, light_backbone=True):
    """Overrides for an mmseg Cityscapes config (mmseg's cityscapes base).

    The whole synthetic image is one crop: cropping could cut the far-away
    cue that decides the class (see docs/synthetic_data.md).

    Args:
        data_root (str): output of ``make_synthetic.py --format cityscapes``.
        size (tuple): (H, W) of the images, used as the crop size.
        iters (int): training iterations.
        batch_size (int): images per iteration.
        val_interval (int, optional): validate every this many iterations
            (default: once, at the end).
        light_backbone (bool): ResNet-18 with narrow heads instead of
            ResNet-50, for tests on two cores.
    """
    h, w = size
    data_root = str(data_root).rstrip('/') + '/'
    opts = {
        'model.pretrained': None,
        'model.backbone.init_cfg': None,
        'model.data_preprocessor.size': (h, w),
        'train_dataloader.batch_size': batch_size,
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': val_interval or iters,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': iters,
        'log_processor.window_size': 1,
        # RandomResize, RandomCrop of mmseg's cityscapes pipeline
        'train_dataloader.dataset.pipeline.2.scale': (w, h),
        'train_dataloader.dataset.pipeline.2.ratio_range': (1.0, 1.0),
        'train_dataloader.dataset.pipeline.3.crop_size': (h, w),
        # PhotoMetricDistortion: a hue shift of 18 turns one marker colour
        # into another and would change the class the image asks for (its
        # randint needs a positive bound, so 2, not 0)
        'train_dataloader.dataset.pipeline.5.hue_delta': 2,
        'val_dataloader.dataset.pipeline.1.scale': (w, h),
        'test_dataloader.dataset.pipeline.1.scale': (w, h),
    }
    opts.update(_loaders_reading(data_root))
    if light_backbone:
        opts.update({
            'model.backbone.depth': 18,
            'model.decode_head.in_channels': 512,
            'model.decode_head.channels': 64,
            'model.auxiliary_head.in_channels': 256,
            'model.auxiliary_head.channels': 32,
        })
    return opts


def long_range_smoke_options(data_root, iters=1, batch_size=1):
    """Overrides for a config of ``projects/long_range/configs/seg/`` (segmentation).

    Those configs already read the synthetic data with a pipeline of their
    own (no resize, crop or colour jitter), so only the data root, the
    schedule and the loaders change.
    """
    data_root = str(data_root).rstrip('/') + '/'
    opts = {
        'train_dataloader.batch_size': batch_size,
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': iters,
        'log_processor.window_size': 1,
    }
    opts.update(_loaders_reading(data_root))
    return opts


def det_smoke_options(data_root, size=(128, 128), batch_size=2):
    """Overrides for an mmdet COCO config (mmdet's coco_detection base).

    One epoch: with N training images that is N / batch_size iterations.

    Args:
        data_root (str): output of ``make_synthetic.py --format coco``.
        size (tuple): (H, W) the images are resized to (keeping the ratio).
        batch_size (int): images per iteration.
    """
    h, w = size
    data_root = str(data_root).rstrip('/') + '/'
    val_ann = data_root + 'annotations/instances_val2017.json'
    opts = {
        'model.backbone.init_cfg': None,
        # a barely trained detector scores about 1/81 per class, under the
        # stock 0.05 threshold: keep every box so COCO evaluation has input
        'model.test_cfg.rcnn.score_thr': 0.0,
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'default_hooks.logger.interval': 1,
        'log_processor.window_size': 1,
        'train_dataloader.batch_size': batch_size,
        'train_dataloader.dataset.pipeline.2.scale': (w, h),
        'val_dataloader.dataset.pipeline.1.scale': (w, h),
        'test_dataloader.dataset.pipeline.1.scale': (w, h),
        'val_evaluator.ann_file': val_ann,
        'test_evaluator.ann_file': val_ann,
    }
    opts.update(_loaders_reading(data_root))
    return opts


#: the keys of a training-pipeline step that hold an image size
_SIZE_KEYS = ('img_scale', 'scale', 'crop_size', 'size')


def multi_image_det_smoke_options(cfg, data_root, size=64, batch_size=4):
    """Overrides for an mmdet COCO config with a multi-image training
    pipeline (YOLOX's Mosaic/MixUp in a ``MultiImageMixDataset``, RTMDet's
    CachedMosaic/CachedMixUp): :func:`det_smoke_options`, with every image
    size of the training pipeline (``img_scale``, ``scale``, ``crop_size``,
    ``size``; RandomAffine's ``border``) set to ``size``, the data root at
    the wrapped dataset, and no batch resizing (YOLOX's 480-800 sizes).

    Args:
        cfg (Config): the loaded config (its pipeline is read).
        data_root (str): output of ``make_synthetic.py --format coco``.
        size (int): side of the square training images.
        batch_size (int): images per iteration.
    """
    opts = det_smoke_options(data_root, (size, size), batch_size)
    for key in ('model.test_cfg.rcnn.score_thr',
                'train_dataloader.dataset.pipeline.2.scale'):
        del opts[key]
    opts['model.data_preprocessor.batch_augments'] = None
    dataset = cfg.train_dataloader.dataset
    prefix = 'train_dataloader.dataset'
    if 'pipeline' in dataset and 'dataset' in dataset:  # a mix wrapper
        del opts[f'{prefix}.data_root']
        opts[f'{prefix}.dataset.data_root'] = opts[
            'val_dataloader.dataset.data_root']
    for i, step in enumerate(dataset.pipeline):
        for key in _SIZE_KEYS:
            if key in step:
                value = step[key]
                opts[f'{prefix}.pipeline.{i}.{key}'] = (
                    size if isinstance(value, int) else (size, size))
        if step['type'] == 'RandomAffine':
            opts[f'{prefix}.pipeline.{i}.border'] = (-size // 2, -size // 2)
    return opts


def cls_smoke_options(data_root, batch_size, size=64):
    """Overrides for an mmpretrain ImageNet or CIFAR config (mmpretrain's
    ``imagenet_bs32`` / ``cifar10_bs16`` data bases): one epoch of
    ``batch_size`` images (one iteration when that is the whole training
    set); ImageNet crops of ``size`` instead of 224.

    Args:
        data_root (str): output of :func:`mmattn.datasets.make_imagenet` or
            :func:`mmattn.datasets.make_cifar`; CIFAR data also needs
            :func:`accept_synthetic_cifar`.
        batch_size (int): images per iteration.
        size (int): ImageNet crop side.
    """
    import os.path as osp
    data_root = str(data_root).rstrip('/') + '/'
    opts = {
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 100,
        'default_hooks.logger.interval': 1,
        'log_processor.window_size': 1,
        'train_dataloader.batch_size': batch_size,
    }
    if osp.isdir(osp.join(data_root, 'meta')):  # ImageNet's layout
        opts.update({
            'train_dataloader.dataset.pipeline.1.scale': size,
            'val_dataloader.dataset.pipeline.1.scale': size * 8 // 7,
            'val_dataloader.dataset.pipeline.2.crop_size': size,
            'test_dataloader.dataset.pipeline.1.scale': size * 8 // 7,
            'test_dataloader.dataset.pipeline.2.crop_size': size,
        })
    opts.update(_loaders_reading(data_root))
    return opts


@contextlib.contextmanager
def accept_synthetic_cifar(data_root):
    """A context manager in which mmpretrain's ``CIFAR10`` and ``CIFAR100``
    accept the synthetic files of ``data_root``: they check every file's
    MD5 against the real archive's, and here the checksums the generator
    recorded stand in for those. The loading code is theirs, unchanged."""
    import json
    import os.path as osp

    from mmattn.engine import import_mmpretrain
    import_mmpretrain()
    from mmpretrain.datasets import CIFAR10, CIFAR100
    with open(osp.join(str(data_root), 'synthetic_meta.json')) as f:
        meta = json.load(f)
    cls = CIFAR10 if meta['format'] == 'cifar10' else CIFAR100
    sums = meta['checksums']
    patched = dict(
        train_list=[[n, sums[n]] for n, _ in cls.train_list],
        test_list=[[n, sums[n]] for n, _ in cls.test_list],
        meta=dict(cls.meta, md5=sums[cls.meta['filename']]))
    saved = {key: cls.__dict__[key] for key in patched}
    for key, value in patched.items():
        setattr(cls, key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            setattr(cls, key, value)


def as_cli(options):
    """``--cfg-options`` arguments for ``tools/train.py`` / ``tools/test.py``."""
    return ['--cfg-options'] + _as_argv(options)


def randomise(block):
    """Random weights everywhere, BN running stats included, so a check
    against a reference cannot pass through a zero or identity init (a
    gamma or gate that starts at 0). Returns ``block``."""
    import torch
    import torch.nn as nn
    with torch.no_grad():
        for p in block.parameters():
            p.uniform_(-0.5, 0.5)
        for m in block.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
    return block


def trained_batch_norms(network):
    """Give every BatchNorm2d of ``network`` trained-looking statistics and
    affine parameters (running mean N(0, 0.1), variance U(0.5, 1.5), weight
    U(0.5, 1), bias N(0, 0.1)), keeping its conv weights: a whole network
    then stays in a sane range (:func:`randomise` makes activations grow by
    orders of magnitude per block), and no residual branch is switched off
    by a zero-initialised last norm. Draws from torch's global generator.
    Returns ``network``."""
    import torch
    import torch.nn as nn
    with torch.no_grad():
        for m in network.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.0)
                m.bias.normal_(0, 0.1)
    return network


def reset_mmengine_singletons():
    """Forget mmengine's process-wide instances (default scope, visualizer,
    message hubs, ...), so that several runners in one process stay apart as
    they would in separate processes (the visualizer would otherwise keep
    writing into the first run's directory)."""
    from mmengine.utils import ManagerMixin
    stack = [ManagerMixin]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if hasattr(cls, '_instance_dict'):
            cls._instance_dict.clear()
