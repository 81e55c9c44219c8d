"""The long-range benchmark: does a model bring context from far away?

One recipe (``projects/long_range/configs/seg/``): synthetic Cityscapes in which a colour
bar at a side edge decides the class of every shape and no shape comes
within ``margin`` pixels of the bar (:mod:`mmattn.datasets.synthetic`,
layout ``'side-bar'``); a two-stage ResNetV1c-18 of width 32 whose receptive
field, with mmseg's FCNHead, is narrower than the margin; the same
optimiser, schedule, head width and seeds for every model. Each model
changes only the decode head or inserts blocks into the backbone.

Per run this module measures mIoU (mmseg's ``IoUMetric`` through the
runner's validation loop), *cue accuracy* (pixel accuracy over the pixels
of cue classes, i.e. the shapes), *swapped-cue accuracy* (the same after the
bar of every validation image is repainted with another colour: a model
that reads the cue follows it) and the cost of the model (parameters, FLOPs
of a forward pass, peak memory of a training step, seconds per iteration).

``projects/long_range/tools/long_range_benchmark.py`` is the command line; the report (table,
plots) is :mod:`long_range.report`. OpenMMLab packages are
imported inside the functions, so importing this module is cheap.
"""
import copy
import json
import os
import os.path as osp
import time

import numpy as np

#: projects/long_range, and the repository holding it (for relative paths).
PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ROOT = osp.dirname(osp.dirname(PROJECT))
CONFIG_DIR = osp.join(PROJECT, 'configs', 'seg')

#: Model name -> (config file in projects/long_range/configs/seg/, kind).
#: ``local``: the baseline; ``head``: a global-context decode head; ``plugin``: blocks
#: inserted after every residual block, with the baseline's FCNHead.
SEG_MODELS = {
    'fcn': ('fcn_r18-tiny_long-range-96x256.py', 'local'),
    'spa': ('spanet_r18-tiny_long-range-96x256.py', 'head'),
    'da': ('danet_r18-tiny_long-range-96x256.py', 'head'),
    'nl': ('nonlocal_r18-tiny_long-range-96x256.py', 'head'),
    'cc': ('ccnet_r18-tiny_long-range-96x256.py', 'head'),
    'gc': ('gcnet_r18-tiny_long-range-96x256.py', 'head'),
    'ann': ('ann_r18-tiny_long-range-96x256.py', 'head'),
    'ocr': ('ocrnet_r18-tiny_long-range-96x256.py', 'head'),
    'efficient': ('efficient-attention_r18-tiny_long-range-96x256.py',
                  'head'),
    'external': ('external-attention_r18-tiny_long-range-96x256.py', 'head'),
    'se': ('se_r18-tiny_long-range-96x256.py', 'plugin'),
    'eca': ('eca_r18-tiny_long-range-96x256.py', 'plugin'),
    'cbam': ('cbam_r18-tiny_long-range-96x256.py', 'plugin'),
    'spenet': ('spenet_r18-tiny_long-range-96x256.py', 'plugin'),
    'spa-plugin': ('spa-plugin_r18-tiny_long-range-96x256.py', 'plugin'),
    'gc-plugin': ('gc-plugin_r18-tiny_long-range-96x256.py', 'plugin'),
    'spa-plugin-zero': ('spa-plugin-zero-init_r18-tiny_long-range-96x256.py',
                        'plugin'),
    'spa-scaled': ('spanet-scaled_r18-tiny_long-range-96x256.py', 'head'),
    'efficient-plugin': ('efficient-plugin_r18-tiny_long-range-96x256.py',
                         'plugin'),
    'efficient-plugin-zero': (
        'efficient-plugin-zero-init_r18-tiny_long-range-96x256.py', 'plugin'),
    'external-plugin': ('external-plugin_r18-tiny_long-range-96x256.py',
                        'plugin'),
    'external-plugin-zero': (
        'external-plugin-zero-init_r18-tiny_long-range-96x256.py', 'plugin'),
}

#: The plugins of the grid whose block offers an identity start
#: (``identity_init`` in :mod:`mmattn.blocks.catalog`), each measured both
#: ways: default init -> started as the identity (``zero_init=True``).
#: ``gc-plugin`` is not here: GC's last conv always starts at zero.
IDENTITY_PAIRS = {
    'spa-plugin': 'spa-plugin-zero',
    'efficient-plugin': 'efficient-plugin-zero',
    'external-plugin': 'external-plugin-zero',
}

#: The data of the recipe. ``margin`` must exceed the local model's
#: receptive-field radius (see :func:`receptive_field`).
SEG_DATA = dict(size=(96, 256), num_train=2000, num_val=200, margin=96,
                seed=0, layout='side-bar', label_cue_in_train=True)

#: Number of cue classes (palette colours); chance cue accuracy is 1/8.
NUM_CUES = 8


#: Detection: model name -> config file in projects/long_range/configs/det/.
DET_MODELS = {
    'faster-rcnn': 'faster-rcnn_r18-tiny_fpn_long-range-96x256.py',
    'gc-neck': 'faster-rcnn_r18-tiny_fpn-gc-neck_long-range-96x256.py',
    'danet-neck': 'faster-rcnn_r18-tiny_fpn-danet-neck_long-range-96x256.py',
    'spa-neck': 'faster-rcnn_r18-tiny_fpn-spanet-neck_long-range-96x256.py',
    'se-plugin': 'faster-rcnn_r18-tiny-se_fpn_long-range-96x256.py',
    'gc-plugin': 'faster-rcnn_r18-tiny-gc_fpn_long-range-96x256.py',
    'spa-plugin': 'faster-rcnn_r18-tiny-spa_fpn_long-range-96x256.py',
}
DET_CONFIG_DIR = osp.join(PROJECT, 'configs', 'det')

#: The detection data: the same scenes as :data:`SEG_DATA`, COCO layout.
DET_DATA = dict(SEG_DATA, num_train=1000, num_val=100)
del DET_DATA['label_cue_in_train']  # COCO annotates shapes only

#: Classification: model name -> config file in projects/long_range/configs/cls/.
CLS_MODELS = {
    'resnet': 'resnet18-tiny_long-range-96x256.py',
    'se': 'se_resnet18-tiny_long-range-96x256.py',
    'cbam': 'cbam_resnet18-tiny_long-range-96x256.py',
    'spenet': 'spenet_resnet18-tiny_long-range-96x256.py',
    'spa-plugin': 'spa-plugin_resnet18-tiny_long-range-96x256.py',
}
CLS_CONFIG_DIR = osp.join(PROJECT, 'configs', 'cls')

#: The classification data: the same scenes, ImageNet layout, labelled by
#: the bar's colour.
CLS_DATA = dict(size=(96, 256), num_train=2000, num_val=200, margin=96,
                seed=0)


def seg_config(name):
    """Path of the config of model ``name`` (a key of :data:`SEG_MODELS`)."""
    if name not in SEG_MODELS:
        raise ValueError(f'unknown model {name!r}; choose from '
                         f'{", ".join(SEG_MODELS)}')
    return osp.join(CONFIG_DIR, SEG_MODELS[name][0])


# --------------------------------------------------------------------- data
def ensure_seg_data(data_root, num_train=None, num_val=None, **overrides):
    """The segmentation data (Cityscapes layout); see :func:`ensure_data`."""
    return ensure_data('cityscapes', data_root, num_train, num_val,
                       **overrides)


def ensure_det_data(data_root, num_train=None, num_val=None, **overrides):
    """The detection data (COCO layout); see :func:`ensure_data`."""
    return ensure_data('coco', data_root, num_train, num_val, **overrides)


def ensure_cls_data(data_root, num_train=None, num_val=None, **overrides):
    """The classification data (ImageNet layout); see :func:`ensure_data`."""
    return ensure_data('imagenet', data_root, num_train, num_val,
                       **overrides)


def ensure_data(fmt, data_root, num_train=None, num_val=None, **overrides):
    """Write the benchmark's synthetic data unless it is there already.

    The meta file of an existing dataset is compared with the wanted
    parameters; a mismatch regenerates the folder (it belongs to the tool).

    Returns:
        dict: The meta header (``size``, ``margin``, ``cue_classes`` ...).
    """
    from mmattn.datasets import (META_FILE, make_cityscapes, make_coco,
                                 make_imagenet)
    recipe = dict(cityscapes=SEG_DATA, coco=DET_DATA, imagenet=CLS_DATA)[fmt]
    want = dict(recipe, **overrides)
    want['num_train'] = recipe['num_train'] if num_train is None \
        else num_train
    want['num_val'] = recipe['num_val'] if num_val is None else num_val
    meta_path = osp.join(data_root, META_FILE)
    if osp.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        sizes = split_sizes(meta)
        found = dict(size=tuple(meta['size']), margin=meta['margin'],
                     seed=meta['seed'], layout=meta.get('layout'),
                     label_cue_in_train=meta.get('label_cue_in_train'),
                     cue_width=meta.get('marker_side'),
                     num_train=sizes[0], num_val=sizes[1])
        # only what the recipe sets is compared (COCO has no label rule,
        # the classification writer no layout choice)
        have = {key: found.get(key) for key in want}
        if (meta.get('format') == fmt
                and have == dict(want, size=tuple(want['size']))):
            return meta
    print(f'[long-range] writing {want["num_train"]} + {want["num_val"]} '
          f'{fmt} images of {want["size"][0]}x{want["size"][1]} to '
          f'{data_root}',
          flush=True)
    make = dict(cityscapes=make_cityscapes, coco=make_coco,
                imagenet=make_imagenet)[fmt]
    options = {k: v for k, v in want.items() if k != 'size'}
    make(data_root, size=tuple(want['size']), overwrite=True, **options)
    with open(meta_path) as f:
        return json.load(f)


def split_sizes(meta):
    """(training, validation) image counts of a dataset's meta file: its
    per-image records (Cityscapes, COCO) or its labels (ImageNet)."""
    per_split = meta.get('splits') or meta['labels']
    return len(per_split['train']), len(per_split['val'])


def load_split(data_root, split='val', limit=None):
    """Images (RGB uint8), label maps and meta records of one split."""
    from PIL import Image
    from mmattn.datasets import META_FILE
    with open(osp.join(data_root, META_FILE)) as f:
        meta = json.load(f)
    records = meta['splits'][split][:limit]
    images = [np.asarray(Image.open(osp.join(data_root, r['img_path']))
                         .convert('RGB')) for r in records]
    labels = [np.asarray(Image.open(osp.join(data_root, r['seg_map_path'])))
              for r in records]
    return dict(meta=meta, records=records, images=images, labels=labels)


def swapped_cue(index, cue):
    """The other colour the control paints image ``index``'s bar with.

    Deterministic per image and never the original colour.
    """
    rng = np.random.default_rng([7919, int(index)])
    return (int(cue) + 1 + int(rng.integers(NUM_CUES - 1))) % NUM_CUES


def swap_cues(split):
    """The swapped-cue control of a split from :func:`load_split`.

    Every bar is repainted with :func:`swapped_cue`'s colour and the shape
    pixels of the label map take the class of the new colour. Only the
    ``'side-bar'`` layout is supported (one cue decides every shape).

    Returns:
        dict: Like ``split``, with new ``images`` and ``labels``.
    """
    from mmattn.datasets import repaint_cues
    meta = split['meta']
    if meta.get('layout') != 'side-bar':
        raise ValueError('the swapped-cue control needs the side-bar '
                         f'layout, got {meta.get("layout")!r}')
    cue_classes = meta['cue_classes']
    images, labels = [], []
    for i, (rec, img, lab) in enumerate(
            zip(split['records'], split['images'], split['labels'])):
        old = rec['cues']['angular']
        new = swapped_cue(i, old)
        images.append(repaint_cues(img, rec['markers'], new))
        lab = lab.copy()
        lab[lab == cue_classes[old]] = cue_classes[new]
        labels.append(lab)
    return dict(split, images=images, labels=labels)


def swapped_split(split):
    """:func:`swap_cues` of ``split``, built once and kept in it: every
    validation point of a run (and the demo) reuses the same control."""
    if 'swapped' not in split:
        split['swapped'] = swap_cues(split)
    return split['swapped']


# --------------------------------------------------------------- inference
def predict(model, cfg, images, batch_size=32):
    """Label maps of RGB ``images`` through ``mmseg.apis.inference_model``.

    The model's test pipeline comes from ``cfg`` (a copy is attached to the
    model as ``inference_model`` expects); images are handed over as BGR
    arrays, as mmseg's loaders produce them.
    """
    import torch
    from mmengine.registry import DefaultScope
    from mmseg.apis import inference_model
    model.cfg = copy.deepcopy(cfg)
    was_training = model.training
    model.eval()
    preds = []
    # The pipeline's transforms live in mmseg's scope, whichever scope (if
    # any) the caller left behind.
    scope = DefaultScope.overwrite_default_scope(cfg.get('default_scope',
                                                         'mmseg'))
    try:
        with torch.no_grad(), scope:
            for i in range(0, len(images), batch_size):
                bgr = [np.ascontiguousarray(im[..., ::-1])
                       for im in images[i:i + batch_size]]
                for res in inference_model(model, bgr):
                    preds.append(res.pred_sem_seg.data[0].cpu().numpy())
    finally:
        model.train(was_training)
    return preds


def cue_accuracy(preds, labels, background=0, ignore_index=255):
    """Pixel accuracy over the pixels of cue classes (the shapes)."""
    correct = total = 0
    for pred, lab in zip(preds, labels):
        mask = (lab != background) & (lab != ignore_index)
        correct += int((pred[mask] == lab[mask]).sum())
        total += int(mask.sum())
    return 100.0 * correct / max(total, 1)


def evaluate_cues(model, cfg, split):
    """Cue accuracy on ``split`` and on its swapped-cue control (percent).

    Also ``followed_old_cue``: the share of shape pixels of the swapped
    images still predicted as the class of the original colour (a model
    that ignores the bar and memorised something else keeps it).
    """
    swapped = swapped_split(split)
    preds = predict(model, cfg, split['images'])
    preds_swapped = predict(model, cfg, swapped['images'])
    followed_old = cue_accuracy(preds_swapped, split['labels'])
    return dict(
        cue_accuracy=cue_accuracy(preds, split['labels']),
        swapped_cue_accuracy=cue_accuracy(preds_swapped, swapped['labels']),
        followed_old_cue=followed_old)


# ---------------------------------------------------------------- training
def _run_options(cfg, data_root, work_dir, iters, seed, val_interval,
                 batch_size):
    """Point ``cfg`` at the data and set the run's schedule and seed: a
    warm-up of at most 50 iterations, poly decay to ``iters``, one
    checkpoint at the end, a log line every tenth of the run."""
    cfg.work_dir = work_dir
    root = data_root.rstrip('/') + '/'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root
    if batch_size is not None:
        cfg.train_dataloader.batch_size = batch_size
    warmup = max(1, min(50, iters // 10))
    cfg.param_scheduler[0].end = warmup
    cfg.param_scheduler[1].begin = warmup
    cfg.param_scheduler[1].end = iters
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = val_interval
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = max(1, min(50, iters // 10))
    cfg.log_processor.window_size = cfg.default_hooks.logger.interval
    cfg.randomness = dict(seed=seed)
    return cfg


def seg_run_config(name, data_root, work_dir, iters, seed,
                   val_points=3, batch_size=None):
    """The config of one benchmark run of model ``name``; validation runs
    ``val_points`` times, evenly spread."""
    from mmengine.config import Config
    cfg = _run_options(Config.fromfile(seg_config(name)), data_root,
                       work_dir, iters, seed,
                       max(1, iters // max(1, val_points)), batch_size)
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook',
                                           draw=False)
    return cfg


def _curve_hook(log, evaluate):
    """A hook recording training time, losses and validation points.

    ``evaluate(runner, metrics)`` turns the validation metrics of the
    runner's loop into the dict stored (with ``iter``) in ``log['val']``.
    """
    from mmengine.hooks import Hook

    class LongRangeCurves(Hook):
        priority = 'LOWEST'

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            self._t0 = time.perf_counter()

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            seconds = time.perf_counter() - self._t0
            log['train_seconds'] += seconds
            log.setdefault('iter_seconds', []).append(seconds)
            if outputs is not None and 'loss' in outputs:
                log['loss'].append(
                    [runner.iter + 1, float(outputs['loss'].detach())])

        def after_val_epoch(self, runner, metrics=None):
            log['val'].append(dict(iter=runner.iter,
                                   **evaluate(runner, metrics)))

    return LongRangeCurves()


def measure_cost(model, data_loader):
    """Parameters, forward FLOPs of one image, peak memory of a train step.

    Both use a real batch of ``data_loader`` (the run's own training
    loader), passed through the model's data preprocessor: FLOPs of
    ``model._forward`` on its first image (eval mode; two-stage detectors
    include RPN and RoI head), peak memory of one forward and backward of
    the training loss on the whole batch (:func:`mmattn.benchmark.
    peak_memory`; CPU: live tensor bytes).
    """
    import torch

    from mmattn.benchmark.measure import (count_flops, count_params,
                                          peak_memory)
    batch = next(iter(data_loader))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        one = data['data_samples'][:1]
        # mmpretrain's classifiers have no _forward: mode='tensor' is it
        forward = getattr(model, '_forward', None) or (
            lambda inputs, samples: model(inputs, samples, mode='tensor'))
        flops = count_flops(lambda: forward(data['inputs'][:1], one))
    model.train()
    data = model.data_preprocessor(batch, True)

    def step():
        losses = model.loss(data['inputs'], data['data_samples'])
        loss, _ = model.parse_losses(losses)
        loss.backward()

    memory = peak_memory(step)
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return dict(params=count_params(model), flops=flops,
                peak_memory_mb=memory / 2**20)


def _train(cfg, hook):
    """Build a runner from ``cfg``, add ``hook``, train; return it."""
    from mmengine.runner import Runner

    from mmattn.testing import reset_mmengine_singletons
    reset_mmengine_singletons()
    runner = Runner.from_cfg(cfg)
    runner.register_hook(hook, priority='LOWEST')
    runner.train()
    return runner


def run_seg(name, seed, iters, data_root, work_dir, val_points=3,
            batch_size=None, split=None):
    """Train model ``name`` once and measure everything of the record.

    Returns:
        dict: ``model``, ``kind``, ``seed``, ``iters``, ``mIoU``,
        ``cue_accuracy``, ``swapped_cue_accuracy``, ``followed_old_cue``,
        ``seconds_per_iter``, ``peak_memory_mb``, ``params``, ``flops``,
        ``curve`` (validation points), ``loss`` (per iteration).
    """
    from mmattn.testing import reset_mmengine_singletons
    cfg = seg_run_config(name, data_root, work_dir, iters, seed, val_points,
                         batch_size)
    if split is None:
        split = load_split(data_root, 'val')
    log = dict(train_seconds=0.0, loss=[], val=[])
    start = time.perf_counter()
    runner = _train(cfg, _curve_hook(log, lambda runner, metrics: dict(
        mIoU=float(metrics['mIoU']),
        **evaluate_cues(runner.model, cfg, split))))
    wall = time.perf_counter() - start
    final = log['val'][-1]
    cost = measure_cost(runner.model, runner.train_dataloader)
    record = dict(
        model=name, kind=SEG_MODELS[name][1], seed=seed, iters=iters,
        mIoU=final['mIoU'], cue_accuracy=final['cue_accuracy'],
        swapped_cue_accuracy=final['swapped_cue_accuracy'],
        followed_old_cue=final['followed_old_cue'],
        seconds_per_iter=log['train_seconds'] / iters,
        wall_seconds=wall, **cost, curve=log['val'], loss=log['loss'],
        config=osp.relpath(seg_config(name), ROOT))
    reset_mmengine_singletons()
    return record, runner


def det_run_config(name, data_root, work_dir, iters, seed, batch_size=None):
    """The config of one detection run of model ``name`` (see
    :func:`seg_run_config`); validated once, at the end."""
    from mmengine.config import Config
    if name not in DET_MODELS:
        raise ValueError(f'unknown detection model {name!r}; choose from '
                         f'{", ".join(DET_MODELS)}')
    cfg = _run_options(
        Config.fromfile(osp.join(DET_CONFIG_DIR, DET_MODELS[name])),
        data_root, work_dir, iters, seed, iters, batch_size)
    ann_file = osp.join(data_root, 'annotations', 'instances_val2017.json')
    for evaluator in ('val_evaluator', 'test_evaluator'):
        cfg[evaluator].ann_file = ann_file
    return cfg


def _run_validated_once(cfg, evaluate, name, kind, seed, iters, config):
    """Train ``cfg`` (validated once, at the end) and make the record of
    the run: the final metrics ``evaluate(runner, metrics)`` returns, the
    time, the costs and the loss curve. Returns ``(record, runner)``."""
    log = dict(train_seconds=0.0, loss=[], val=[])
    start = time.perf_counter()
    runner = _train(cfg, _curve_hook(log, evaluate))
    wall = time.perf_counter() - start
    cost = measure_cost(runner.model, runner.train_dataloader)
    record = dict(
        model=name, kind=kind, seed=seed, iters=iters, **log['val'][-1],
        seconds_per_iter=log['train_seconds'] / iters, wall_seconds=wall,
        **cost, loss=log['loss'], config=osp.relpath(config, ROOT))
    record.pop('iter', None)
    return record, runner


def run_det(name, seed, iters, data_root, work_dir, batch_size=None):
    """Train detection model ``name`` once; bbox mAP (percent) and costs."""
    return _run_validated_once(
        det_run_config(name, data_root, work_dir, iters, seed, batch_size),
        lambda runner, metrics: {
            key: 100.0 * float(metrics[f'coco/{key}'])
            for key in ('bbox_mAP', 'bbox_mAP_50')},
        name, 'local' if name == 'faster-rcnn' else
        ('neck' if name.endswith('-neck') else 'plugin'), seed, iters,
        osp.join(DET_CONFIG_DIR, DET_MODELS[name]))


def cls_run_config(name, data_root, work_dir, iters, seed, batch_size=None):
    """The config of one classification run of model ``name`` (see
    :func:`seg_run_config`); validated once, at the end."""
    from mmengine.config import Config
    if name not in CLS_MODELS:
        raise ValueError(f'unknown classification model {name!r}; choose '
                         f'from {", ".join(CLS_MODELS)}')
    return _run_options(
        Config.fromfile(osp.join(CLS_CONFIG_DIR, CLS_MODELS[name])),
        data_root, work_dir, iters, seed, iters, batch_size)


def run_cls(name, seed, iters, data_root, work_dir, batch_size=None):
    """Train classification model ``name`` once; top-1 (percent) and
    costs."""
    return _run_validated_once(
        cls_run_config(name, data_root, work_dir, iters, seed, batch_size),
        lambda runner, metrics: dict(top1=float(metrics['accuracy/top1'])),
        name, 'local' if name == 'resnet' else 'plugin', seed, iters,
        osp.join(CLS_CONFIG_DIR, CLS_MODELS[name]))


def time_iterations(name, iters, data_root, work_dir, task='seg',
                    warmup=5, batch_size=None):
    """Median seconds of one training iteration of model ``name``, data
    loading included, over ``iters`` iterations after ``warmup`` (no
    validation). Meant to run alone on the machine: the grid's own timings
    share the cores with whatever else ran meanwhile."""
    total = iters + warmup
    if task == 'seg':
        cfg = seg_run_config(name, data_root, work_dir, total, 0,
                             batch_size=batch_size)
    elif task == 'cls':
        cfg = cls_run_config(name, data_root, work_dir, total, 0, batch_size)
    else:
        cfg = det_run_config(name, data_root, work_dir, total, 0, batch_size)
    cfg.train_cfg.val_interval = total + 1
    cfg.default_hooks.checkpoint.interval = total + 1
    log = dict(train_seconds=0.0, loss=[], val=[])
    _train(cfg, _curve_hook(log, lambda runner, metrics: {}))
    return float(np.median(log['iter_seconds'][warmup:]))


# ------------------------------------------------------- receptive field
def receptive_field(model, input_shape, point=None, randomise=True):
    """Extent of the input that can change the logits at one pixel.

    Gradient probing: the gradient of the logits' sum at ``point`` (default:
    the centre) with respect to the input image, taken in eval mode (batch
    statistics would couple all pixels), is non-zero exactly on the pixels
    the output there depends on. The probe runs in float64 on a copy (the
    model itself is never modified); with ``randomise`` every parameter of
    the copy gets a little Gaussian noise: zero-initialised branches (GC's
    last conv, DANet's and CCNet's gammas, non-local's output conv) would
    otherwise hide a global path at step 0. Blocks that attend to a few
    selected positions (SPANet's top-k) reach only those beyond the local
    window.

    Returns:
        dict: ``box`` ``[x0, y0, x1, y1)`` of the non-zero gradient,
        ``radius`` (the largest Chebyshev distance from ``point`` to a
        pixel of the box) and ``point``.
    """
    import torch
    h, w = input_shape
    py, px = point if point is not None else (h // 2, w // 2)
    probe = copy.deepcopy(model).eval().double()
    if randomise:
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for t in probe.parameters():
                t.add_(0.05 * torch.randn(t.shape, generator=gen,
                                          dtype=t.dtype))
    x = torch.randn(1, 3, h, w, dtype=torch.float64, requires_grad=True,
                    generator=torch.Generator().manual_seed(1))
    logits = probe._forward(x)
    if isinstance(logits, (list, tuple)):
        logits = logits[-1]
    logits = torch.nn.functional.interpolate(
        logits, size=(h, w), mode='bilinear', align_corners=False)
    logits[0, :, py, px].sum().backward()
    reach = x.grad[0].abs().sum(0) > 0
    ys, xs = np.nonzero(reach.numpy())
    box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1,
           int(ys.max()) + 1]
    radius = int(max(px - box[0], box[2] - 1 - px, py - box[1],
                     box[3] - 1 - py))
    return dict(box=box, radius=radius, point=[int(px), int(py)])


def save_records(path, records, meta=None):
    """Write ``{'meta': ..., 'runs': records}`` as JSON."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(dict(meta=meta or {}, runs=records), f, indent=1)
        f.write('\n')
