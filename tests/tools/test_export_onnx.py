"""Whole-model ONNX export of the shipped configs (mmattn.deployment and
tools/deployment/): one config per head type and per kind of plugin for
segmentation, necks and a plugin for detection, each exported with free H
and W and compared with PyTorch in onnxruntime at two sizes other than the
example's (tools/deployment/export_all.py exports and verifies every
shipped config: docs/deployment.md). The command-line tools run once each,
and onnx_inference.py with torch made unimportable.
"""
import os.path as osp
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
from helpers import ROOT, config_path

from mmattn.deployment import (RELATIVE_TOLERANCE, compare, export_config,
                               session_for)

#: one per head type (SPANet's: by the export tool test below, which
#: verifies it at two other sizes too; NLHead's attention is the same
#: dot_product_attention graph as DANet's PAM); plugins: channel + spatial
#: gates (CBAM; a channel gate alone, as ECA/SE/SPENet, is the same graph
#: without the spatial part), BackboneWithBlocks (SE in ResNet-18). Every
#: registered block also exports alone
#: (tests/blocks/test_registered_blocks.py).
SPANET_SEG = 'spanet/spanet_r50-d8_4xb2-80k_cityscapes-512x1024.py'
SEG_CONFIGS = [
    'ann/ann_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'ccnet/ccnet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'danet/danet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'gcnet/gcnet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'ocrnet/ocrnet_r50-d8_4xb2-80k_cityscapes-512x1024.py',  # cascade
    'plugins/fcn_r50-d8-cbam_4xb2-80k_cityscapes-512x1024.py',
    'plugins/fcn_r18-d8-insert-se_4xb2-80k_cityscapes-512x1024.py',
]
#: a neck after FPN (AttentionNeck, whatever its block), a block on FPN
DET_CONFIGS = [
    'spanet/faster-rcnn_r50_fpn-spanet-neck_1x_coco.py',
    'spanet/faster-rcnn_r50-spanet_fpn_1x_coco.py',
]
SHAPE = (48, 80)
OTHER_SIZES = [(57, 75), (40, 104)]


def _export(config, path):
    torch.manual_seed(0)
    return export_config(config_path(config), str(path), shape=SHAPE,
                         dynamic=True)


def _check_dynamic(path, wrapper):
    session = session_for(path)
    dims = onnx.load(str(path), load_external_data=False) \
        .graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param != '' for d in dims] == [False, False, True, True]
    rng = np.random.default_rng(0)
    for size in OTHER_SIZES:
        image = rng.uniform(0, 255, (1, 3, *size)).astype(np.float32)
        row = compare(session, wrapper, image)
        assert row['max_rel'] < RELATIVE_TOLERANCE, (size, row)
        assert row['label_agreement'] > 0.999, (size, row)
    return session


@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('config', SEG_CONFIGS)
def test_segmentor_exports_whole_with_free_size(config, tmp_path):
    path = tmp_path / 'model.onnx'
    wrapper, info = _export(config, path)
    assert info['outputs'] == ['logits', 'labels']
    session = _check_dynamic(path, wrapper)
    # logits and labels at the input size, labels the argmax of the logits
    image = np.full((1, 3, *OTHER_SIZES[0]), 128, np.float32)
    logits, labels = session.run(None, {'image': image})
    assert logits.shape == (1, 19, *OTHER_SIZES[0])
    np.testing.assert_array_equal(labels, logits.argmax(1))


@pytest.mark.filterwarnings('ignore')
@pytest.mark.parametrize('config', DET_CONFIGS)
def test_detector_backbone_and_neck_export_with_free_size(config, tmp_path):
    path = tmp_path / 'model.onnx'
    wrapper, info = _export(config, path)
    assert info['outputs'] == [f'feat{i}' for i in range(5)]  # FPN levels
    session = _check_dynamic(path, wrapper)
    # mmdet pads to a multiple of 32 before the backbone: 57x75 -> 64x96
    image = np.zeros((1, 3, *OTHER_SIZES[0]), np.float32)
    shapes = [o.shape for o in session.run(None, {'image': image})]
    assert shapes[0] == (1, 256, 16, 24)


def _tool(name, *args, block_torch=False):
    script = osp.join(ROOT, 'tools', 'deployment', name)
    if block_torch:
        # the tool must run where torch is not installed
        code = ('import runpy, sys; sys.modules["torch"] = None; '
                f'sys.argv = {[script, *map(str, args)]!r}; '
                'runpy.run_path(sys.argv[0], run_name="__main__")')
        command = [sys.executable, '-c', code]
    else:
        command = [sys.executable, script, *map(str, args)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          timeout=900)


@pytest.mark.filterwarnings('ignore')
def test_export_tool_verifies_and_onnx_inference_paints(tmp_path):
    model = tmp_path / 'spanet.onnx'
    done = _tool('export_onnx.py', config_path(SPANET_SEG), '--out',
                 model, '--shape', 64, 96, '--dynamic', '--verify')
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines()
            if line.startswith('| random') or line.startswith('| synth')]
    assert len(rows) == 6  # two images at the example's and two other sizes
    assert 'verified: max relative difference' in done.stdout

    from mmattn.datasets.synthetic import synthetic_image
    import cv2
    image = tmp_path / 'scene.png'
    cv2.imwrite(str(image), synthetic_image(64, 96)[..., ::-1])
    done = _tool('onnx_inference.py', model, image, '--out',
                 tmp_path / 'out', block_torch=True)
    assert done.returncode == 0, done.stderr[-3000:]
    labels = cv2.imread(str(tmp_path / 'out' / 'scene_pred.png'),
                        cv2.IMREAD_UNCHANGED)
    assert labels.shape == (64, 96) and labels.max() < 19
    # the labels the file gives for the image as cv2 reads it
    batch = cv2.imread(str(image)).transpose(2, 0, 1)[None]
    _, expected = session_for(model).run(
        None, {'image': batch.astype(np.float32)})
    np.testing.assert_array_equal(labels, expected[0])
    vis = cv2.imread(str(tmp_path / 'out' / 'scene_vis.png'))
    assert vis.shape == (64, 96, 3)
    assert 'classes present:' in done.stdout


def test_export_tool_names_bad_arguments(tmp_path):
    done = _tool('export_onnx.py', tmp_path / 'none.py', '--out',
                 tmp_path / 'x.onnx')
    assert done.returncode != 0 and 'config: no such file' in done.stderr
    done = _tool('onnx_inference.py', tmp_path / 'none.onnx',
                 tmp_path / 'none.png', '--out', tmp_path)
    assert done.returncode == 2 and 'model: no such file' in done.stderr
