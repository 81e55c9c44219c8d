"""Trained mmattn models through the OpenMMLab inference APIs, in a fresh
process with nothing imported by hand (the config's custom_imports brings
mmattn in): mmseg's init_model + inference_model and MMSegInferencer,
mmdet's init_detector + inference_detector and DetInferencer, and
tools/inference.py, which paints the result.

Each checkpoint is saved the way mmengine saves one, with its dataset_meta,
and with a classifier bias that makes one class win everywhere, so that a
prediction of that class shows that the checkpoint was loaded (random
initial weights would give a mixture).
"""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import ROOT, config_path
from mmengine.runner.checkpoint import save_checkpoint

from mmattn.deployment import load_model

#: a head and BackboneWithBlocks (segmentation: its blocks resolve through
#: the same 'mmattn.' registry path as plugins do); a neck and plugins
#: (detection: mmcv's plugin builder under mmdet's scope)
SEG_CONFIGS = [
    'spanet/spanet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'plugins/fcn_r18-d8-insert-se_4xb2-80k_cityscapes-512x1024.py',
]
DET_CONFIGS = [
    'spanet/faster-rcnn_r50_fpn-spanet-neck_1x_coco.py',
    'plugins/faster-rcnn_r50-se_fpn_1x_coco.py',
]
WINNER = 3  # the class the saved classifier bias makes win
CLASSES = tuple(f'class{i}' for i in range(19))


def _image(path, h=64, w=96):
    from mmattn.datasets.synthetic import synthetic_image
    import cv2
    cv2.imwrite(str(path), synthetic_image(h, w)[..., ::-1])
    return str(path)


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """One saved checkpoint per config, shared by this module's tests."""
    folder = tmp_path_factory.mktemp('checkpoints')
    saved = {}

    def get(config):
        if config not in saved:
            save = (_save_seg_checkpoint if config in SEG_CONFIGS
                    else _save_det_checkpoint)
            path = folder / (config.replace('/', '_') + '.pth')
            saved[config] = save(config, path)
        return saved[config]
    return get


def _save_seg_checkpoint(config, path):
    model, _ = load_model(config_path(config))
    heads = model.decode_head
    last = heads[-1] if isinstance(heads, torch.nn.ModuleList) else heads
    with torch.no_grad():
        last.conv_seg.bias.zero_()[WINNER] = 100.
    palette = [[i, 2 * i, 3 * i] for i in range(19)]
    meta = dict(dataset_meta=dict(classes=CLASSES, palette=palette))
    save_checkpoint(dict(state_dict=model.state_dict(), meta=meta),
                    str(path))
    return str(path)


def _lateral_bias(model):
    """FPN's first lateral conv bias (the neck may be a Sequential)."""
    fpn = next(m for m in model.neck.modules() if hasattr(m, 'lateral_convs'))
    return fpn.lateral_convs[0].conv.bias


def _save_det_checkpoint(config, path):
    model, _ = load_model(config_path(config))
    with torch.no_grad():
        _lateral_bias(model).fill_(0.25)
    save_checkpoint(dict(state_dict=model.state_dict(),
                         meta=dict(dataset_meta=model.dataset_meta)),
                    str(path))
    return str(path)


SEG_SCRIPT = '''
import json, sys
import numpy as np
from mmseg.apis import MMSegInferencer, inference_model, init_model
config, checkpoint, image, out = sys.argv[1:]
model = init_model(config, checkpoint, device='cpu')
result = inference_model(model, image)
inferencer = MMSegInferencer(model=config, weights=checkpoint, device='cpu')
batch = inferencer(image, out_dir=out)
print(json.dumps(dict(
    classes=list(model.dataset_meta['classes']),
    api=np.unique(result.pred_sem_seg.data.numpy()).tolist(),
    shape=list(result.pred_sem_seg.data.shape),
    inferencer=np.unique(batch['predictions']).tolist())))
'''

DET_SCRIPT = '''
import json, sys
import torch
from mmdet.apis import DetInferencer, inference_detector, init_detector
config, checkpoint, image, out = sys.argv[1:]
model = init_detector(config, checkpoint, device='cpu')
result = inference_detector(model, image)
inferencer = DetInferencer(model=config, weights=checkpoint, device='cpu')
batch = inferencer(image, out_dir=out, return_datasamples=True)
batch = batch['predictions'] if isinstance(batch, dict) else batch
sample = batch[0] if isinstance(batch, list) else batch
def lateral_bias(model):
    fpn = next(m for m in model.neck.modules() if hasattr(m, 'lateral_convs'))
    return float(fpn.lateral_convs[0].conv.bias.mean())
print(json.dumps(dict(
    bias=lateral_bias(model), inferencer_bias=lateral_bias(inferencer.model),
    boxes=list(result.pred_instances.bboxes.shape),
    inferencer_boxes=list(sample.pred_instances.bboxes.shape))))
'''


def _small_test_pipeline(config, tmp_path):
    """The config with its test-time resize at the test image's size
    (Cityscapes' resizes it to 2048x1024: minutes on two cores); the model
    is the shipped one."""
    path = tmp_path / ('small_' + osp.basename(config))
    path.write_text(
        f'_base_ = [{config_path(config)!r}]\n'
        "test_pipeline = [dict(type='LoadImageFromFile'),\n"
        "                 dict(type='Resize', scale=(96, 64), "
        "keep_ratio=True),\n"
        "                 dict(type='PackSegInputs')]\n"
        'test_dataloader = dict(dataset=dict(pipeline=test_pipeline))\n')
    return str(path)


def _fresh_process(script, *args):
    done = subprocess.run([sys.executable, '-c', script, *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize('config', SEG_CONFIGS)
def test_mmseg_apis_and_inferencer(config, checkpoints, tmp_path):
    checkpoint = checkpoints(config)
    image = _image(tmp_path / 'scene.png')
    got = _fresh_process(SEG_SCRIPT, _small_test_pipeline(config, tmp_path),
                         checkpoint, image, tmp_path / 'out')
    assert got['classes'] == list(CLASSES)
    assert got['shape'] == [1, 64, 96]
    assert got['api'] == got['inferencer'] == [WINNER]
    assert osp.isfile(tmp_path / 'out' / 'vis' / 'scene.png')
    assert osp.isfile(tmp_path / 'out' / 'pred' / '00000000_pred.png')


@pytest.mark.parametrize('config', DET_CONFIGS)
def test_mmdet_apis_and_inferencer(config, checkpoints, tmp_path):
    checkpoint = checkpoints(config)
    image = _image(tmp_path / 'scene.png', 96, 128)
    got = _fresh_process(DET_SCRIPT, config_path(config), checkpoint, image,
                         tmp_path / 'out')
    assert got['bias'] == got['inferencer_bias'] == 0.25
    assert got['boxes'][1:] == got['inferencer_boxes'][1:] == [4]
    assert osp.isfile(tmp_path / 'out' / 'vis' / 'scene.png')


def _run_inference_tool(*args):
    done = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'inference.py'),
         *map(str, args)], cwd=ROOT, capture_output=True, text=True,
        timeout=600)
    return done


def test_inference_tool_paints_a_segmentation(checkpoints, tmp_path):
    from PIL import Image
    config = SEG_CONFIGS[0]
    checkpoint = checkpoints(config)
    image = _image(tmp_path / 'scene.png')
    done = _run_inference_tool(image, _small_test_pipeline(config, tmp_path),
                               checkpoint, '--out', tmp_path / 'out')
    assert done.returncode == 0, done.stderr[-3000:]
    assert f'classes present: class{WINNER}' in done.stdout
    labels = np.array(Image.open(tmp_path / 'out' / 'scene_pred.png'))
    assert labels.shape == (64, 96) and (labels == WINNER).all()
    vis = np.array(Image.open(tmp_path / 'out' / 'scene_vis.png'))
    scene = np.array(Image.open(image))
    assert vis.shape == (64, 96, 3)
    # painted with the stored palette's colour of the winner at opacity 0.5
    # (mmseg's visualizer also writes the class name in a box: a few pixels)
    colour = np.array([WINNER, 2 * WINNER, 3 * WINNER])
    expected = scene * 0.5 + colour * 0.5
    close = (np.abs(vis.astype(float) - expected) <= 1.5).all(axis=-1)
    assert close.mean() > 0.8


def test_inference_tool_paints_detections(checkpoints, tmp_path):
    config = DET_CONFIGS[0]
    checkpoint = checkpoints(config)
    image = _image(tmp_path / 'scene.png', 96, 128)
    done = _run_inference_tool(image, config_path(config), checkpoint,
                               '--out', tmp_path / 'out', '--score-thr', '0')
    assert done.returncode == 0, done.stderr[-3000:]
    assert 'detections at score >= 0.0' in done.stdout
    from PIL import Image
    assert Image.open(tmp_path / 'out' / 'scene_vis.png').size == (128, 96)


def test_inference_tool_names_a_missing_file(tmp_path):
    done = _run_inference_tool(tmp_path / 'none.png',
                               config_path(SEG_CONFIGS[0]),
                               tmp_path / 'none.pth', '--out', tmp_path)
    assert done.returncode == 2
    assert "image: no such file" in done.stderr
