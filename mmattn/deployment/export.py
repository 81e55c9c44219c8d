"""Whole-model ONNX export of the models mmattn configs build.

Segmentors (mmseg's ``EncoderDecoder`` and ``CascadeEncoderDecoder``) export
whole: image in, logits and label map out at the input size, through mmseg's
own ``encode_decode`` (the path ``inference_model`` takes). Detectors export
the part mmattn changes, the backbone and the neck: image in, the neck's
feature maps out. The data preprocessor's work (channel order, mean and std,
mmdet's padding to a size divisor) is inside the graph, so a deployment feeds
the image as ``mmcv.imread``/``cv2.imread`` give it: BGR, 0-255, float32,
(N, 3, H, W).
"""
import json
import os
import os.path as osp

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config

from ..ops.salient import onnx_translation_table


def task_of(cfg):
    """``'seg'`` or ``'det'``: the OpenMMLab scope a config builds in."""
    scope = cfg.get('default_scope')
    if scope == 'mmseg':
        return 'seg'
    if scope == 'mmdet':
        return 'det'
    raise ValueError(
        f"config: default_scope must be 'mmseg' or 'mmdet' to export, got "
        f'{scope!r}')


def load_model(config, checkpoint=None, cfg_options=None, device='cpu'):
    """Build a config's model with mmseg's ``init_model`` or mmdet's
    ``init_detector`` (the inference APIs, which load a checkpoint and its
    ``dataset_meta``), in eval mode.

    Args:
        config (str | Config): config file or object.
        checkpoint (str, optional): weights; None keeps the initial ones.
        cfg_options (dict, optional): overrides merged into the config.
        device (str): where to build it. Defaults to ``'cpu'``.

    Returns:
        tuple: ``(model, task)`` with task ``'seg'`` or ``'det'``.
    """
    if isinstance(config, str):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config: no such file {config!r}')
        config = Config.fromfile(config)
    if cfg_options:
        config.merge_from_dict(cfg_options)
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint: no such file {checkpoint!r}')
    task = task_of(config)
    if task == 'seg':
        from mmseg.apis import init_model
        model = init_model(config, checkpoint, device=device)
    else:
        from mmdet.apis import init_detector
        model = init_detector(config, checkpoint, device=device)
    if not getattr(model, 'dataset_meta', None):
        # no checkpoint (or one without meta): the test dataset's classes
        model.dataset_meta = _dataset_meta(config, task)
    return model.eval(), task


def _dataset_meta(cfg, task):
    """Classes and palette of the config's test dataset class."""
    if task == 'seg':
        from mmseg.registry import DATASETS
    else:
        from mmdet.registry import DATASETS
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    cls = DATASETS.get(dataset.get('type', '')) if dataset else None
    meta = dict(getattr(cls, 'METAINFO', {}) or {})
    meta.update(dataset.get('metainfo', {}) or {})
    return {key: meta[key] for key in ('classes', 'palette') if key in meta}


class _Preprocess(nn.Module):
    """The data preprocessor's per-image work as tensor operations."""

    def __init__(self, preprocessor):
        super().__init__()
        # mmseg's SegDataPreProcessor and mmengine's ImgDataPreProcessor
        # (mmdet's base) name the channel switch differently.
        self.flip_channels = bool(
            getattr(preprocessor, 'channel_conversion', False)
            or getattr(preprocessor, '_channel_conversion', False))
        normalize = getattr(preprocessor, '_enable_normalize', True)
        mean = getattr(preprocessor, 'mean', None)
        std = getattr(preprocessor, 'std', None)
        if not normalize or mean is None:
            mean, std = torch.zeros(3, 1, 1), torch.ones(3, 1, 1)
        self.register_buffer('mean', mean.detach().clone().view(1, -1, 1, 1))
        self.register_buffer('std', std.detach().clone().view(1, -1, 1, 1))

    def forward(self, image):
        if self.flip_channels:
            image = image.flip(1)
        return (image - self.mean) / self.std


def _check_image(image):
    if image.dim() != 4 or image.size(1) != 3:
        raise ValueError(
            f'image must be (N, 3, H, W), got {tuple(image.shape)}')


class SegmentorForExport(nn.Module):
    """An mmseg segmentor as one function of the image.

    Args:
        model: an mmseg ``EncoderDecoder`` or ``CascadeEncoderDecoder``.

    Shapes:
        image (N, 3, H, W) float32, BGR 0-255 -> ``(logits, labels)``:
        (N, num_classes, H, W) float32 and (N, H, W) int64, through mmseg's
        ``encode_decode`` (the decode head(s), then the resize to the input
        size that ``inference_model`` does).
    """

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.preprocess = _Preprocess(model.data_preprocessor)

    def forward(self, image):
        _check_image(image)
        size = image.shape[2:]
        metas = [dict(img_shape=size, ori_shape=size, pad_shape=size)
                 for _ in range(image.size(0))]
        logits = self.model.encode_decode(self.preprocess(image), metas)
        return logits, logits.argmax(dim=1)


class DetectorFeaturesForExport(nn.Module):
    """An mmdet detector's backbone and neck as one function of the image.

    The image is normalised, padded at the bottom and right to the data
    preprocessor's ``pad_size_divisor`` (with zeros after normalisation, as
    mmdet pads) and passed through ``extract_feat``.

    Shapes:
        image (N, 3, H, W) float32, BGR 0-255 -> one (N, C_i, H_i, W_i) map
        per neck level (per backbone output without a neck).
    """

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.preprocess = _Preprocess(model.data_preprocessor)
        self.size_divisor = int(
            getattr(model.data_preprocessor, 'pad_size_divisor', 1) or 1)

    def forward(self, image):
        _check_image(image)
        x = self.preprocess(image)
        h, w = x.shape[2:]
        d = self.size_divisor
        x = F.pad(x, (0, (d - w % d) % d, 0, (d - h % d) % d))
        return tuple(self.model.extract_feat(x))


def wrapper_for(model, task):
    """The export wrapper of a model built by :func:`load_model`."""
    wrapper = (SegmentorForExport(model) if task == 'seg'
               else DetectorFeaturesForExport(model))
    return wrapper.eval()


def output_names(wrapper, shape):
    """Names of the wrapper's outputs (``logits``, ``labels`` or
    ``feat0``...)."""
    if isinstance(wrapper, SegmentorForExport):
        return ['logits', 'labels']
    with torch.no_grad():
        num = len(wrapper(torch.zeros(1, 3, *shape)))
    return [f'feat{i}' for i in range(num)]


def metadata(model, task, config_path=None):
    """What onnx_inference.py needs to paint a prediction without torch
    (:func:`export_onnx` adds the output names)."""
    meta = getattr(model, 'dataset_meta', None) or {}
    return dict(
        mmattn_task=task,
        classes=json.dumps(list(meta.get('classes', ()))),
        palette=json.dumps([list(map(int, c))
                            for c in meta.get('palette', ()) or ()]),
        config=osp.basename(config_path) if config_path else '',
        input='image: (N, 3, H, W) float32, BGR, 0-255 (as cv2.imread)')


def export_onnx(wrapper, path, shape=(512, 1024), dynamic=False,
                meta=None):
    """Export a wrapper with the dynamo-based exporter (the default of
    torch 2.13; it takes mmattn's custom op through its translation table).

    Args:
        wrapper: :class:`SegmentorForExport` or
            :class:`DetectorFeaturesForExport`.
        path (str): the ``.onnx`` file; the weights go into it (one file).
        shape (tuple[int]): (H, W) of the example image.
        dynamic (bool): keep H and W free in the file (N is 1).
        meta (dict, optional): string metadata to store in the file; the
            output names are stored under ``outputs``.

    Returns:
        dict: ``opset``, ``size_mb`` and ``outputs`` (names).
    """
    import onnx
    h, w = shape
    names = output_names(wrapper, shape)
    example = torch.rand(1, 3, h, w) * 255
    dynamic_shapes = None
    if dynamic:
        free = torch.export.Dim.DYNAMIC
        # H and W only: mmseg builds one meta dict per image in a Python
        # loop, which fixes the batch size while tracing (a batch is a
        # loop over single-image runs of the file).
        dynamic_shapes = ({2: free, 3: free}, )
    out_dir = osp.dirname(osp.abspath(path))
    os.makedirs(out_dir, exist_ok=True)
    with torch.no_grad():
        program = torch.onnx.export(
            wrapper, (example, ), dynamo=True,
            dynamic_shapes=dynamic_shapes, input_names=['image'],
            output_names=names,
            custom_translation_table=onnx_translation_table())
    model = program.model_proto
    for key, value in {**(meta or {}), 'outputs': json.dumps(names)}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.save_model(model, path)
    opset = {o.domain: o.version for o in model.opset_import}.get('', None)
    return dict(opset=opset, size_mb=osp.getsize(path) / 2**20,
                outputs=names)


def export_config(config, path, checkpoint=None, shape=(512, 1024),
                  dynamic=False, cfg_options=None):
    """:func:`load_model`, :func:`wrapper_for` and :func:`export_onnx` with
    the dataset's :func:`metadata`: a config (and its weights) to a file.

    Returns:
        tuple: ``(wrapper, info)``, the PyTorch function that was exported
        (to compare the file with) and :func:`export_onnx`'s dict.
    """
    model, task = load_model(config, checkpoint, cfg_options)
    wrapper = wrapper_for(model, task)
    config_path = config if isinstance(config, str) else config.filename
    info = export_onnx(wrapper, path, shape, dynamic,
                       metadata(model, task, config_path))
    return wrapper, info
