"""Attention pictures (mmattn.visualization and
tools/analysis_tools/visualize_attention.py).

Each map is checked against the module's own forward: the weights a
picture shows, applied to the module's values, give the module's output.
The tool runs once per task on a saved checkpoint.
"""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import ROOT, config_path, long_range_config, randomise

from mmattn.blocks import (CBAM, AsymmetricPyramidNonLocal,
                           ChannelAttention, CrissCrossAttention,
                           EfficientChannelAttention, GlobalContext,
                           MultiSpectralChannelAttention, NonLocal,
                           ObjectContext, PositionAttention,
                           SalientPositionAttention,
                           SelfAdaptivePoolingAttention,
                           SpatialChannelSqueezeExcitation,
                           SqueezeExcitation, BottleneckAttention)
from mmattn.visualization import (PICTURES, AttentionRecorder, draw_module,
                                  panels_for)

SHAPE = (1, 16, 6, 10)


def _record(module, *args, repeat=1):
    module.eval()
    with AttentionRecorder(module) as recorder:
        out = module(*args)
        for _ in range(repeat - 1):
            out = module(out)
    (_, calls), = recorder.calls.values()
    return calls, out


def _x(seed=0):
    return torch.randn(*SHAPE, generator=torch.Generator().manual_seed(seed))


def test_recorder_removes_its_hooks_and_names_unmatched_patterns():
    block = SqueezeExcitation(16)
    with AttentionRecorder(block) as recorder:
        block(_x())
    assert not block._forward_hooks and len(recorder.calls) == 1
    with pytest.raises(ValueError, match=r"\['head\*'\] matched no"):
        AttentionRecorder(torch.nn.Sequential(block), modules=['head*'])


def test_position_maps_are_the_weights_the_block_applies():
    block = randomise(PositionAttention(16, 4))
    block.gamma.scale.data.fill_(1.0)
    x = _x()
    calls, out = _record(block, x)
    points = [(0, 0), (3, 7), (5, 9)]
    panels = panels_for(block, calls, [(c * 8, r * 8) for r, c in points],
                        (48, 80))
    value = block.value_project(x)[0].flatten(1)  # (C, P)
    for (r, c), panel in zip(points, panels):
        assert panel.points == [(r, c)]
        assert panel.data.sum() == pytest.approx(1.0, abs=1e-5)
        context = value @ panel.data.flatten()
        torch.testing.assert_close(context, (out - x)[0, :, r, c],
                                   rtol=1e-4, atol=1e-5)
        # titled in image pixels, the centre of the 8x8-pixel cell
        assert panel.title.endswith(f'at ({c * 8 + 4}, {r * 8 + 4}) px')


def test_apnb_panel_names_its_key_pools():
    block = randomise(AsymmetricPyramidNonLocal(16, hidden_channels=8))
    calls, _ = _record(block, _x())
    [panel] = panels_for(block, calls, [(8, 8)], (48, 80))
    scales = block.stages[0].key_pool_scales
    assert panel.blocks == [f'{s}x{s} pool' for s in scales]
    assert panel.data.shape == (max(scales), max(scales) * len(scales))
    assert 'at (12, 12) px' in panel.title


def test_non_local_maps_are_the_weights_the_block_applies():
    block = randomise(NonLocal(16, zeros_init=False))
    x = _x(1)
    calls, out = _record(block, x)
    panels = panels_for(block, calls, [(8 * 4, 8 * 2)], (48, 80))
    (panel, ) = panels
    r, c = panel.points[0]
    value = block.g(x)[0].flatten(1)
    y = (value @ panel.data.flatten()).view(1, -1, 1, 1)
    torch.testing.assert_close(block.conv_out(y)[0, :, 0, 0],
                               (out - x)[0, :, r, c], rtol=1e-4, atol=1e-5)


def test_criss_cross_reach_is_its_aggregation_and_two_passes_cover_all():
    block = randomise(CrissCrossAttention(16))
    x = _x(2)
    calls, _ = _record(block, x, repeat=2)
    assert len(calls) == 2
    panels = panels_for(block, calls, [(0, 0)], (6, 10))
    one, two = panels
    # one pass: the block's own aggregation of a one-hot value at each key
    query, key, _ = block._project(x)
    weights = block.attention_weights(query, key)
    eye = torch.eye(60).view(1, 6, 10, 60)
    expected = block.aggregate(weights, eye)[0, 0, 0].view(6, 10)
    torch.testing.assert_close(one.data, expected, rtol=1e-5, atol=1e-6)
    assert (one.data > 0).sum() == 6 + 10 - 1  # its column and row
    assert (two.data > 0).all()  # every position after two passes
    assert two.data.sum() == pytest.approx(1.0, abs=1e-5)


def test_salient_panels_show_the_selected_positions():
    block = randomise(SalientPositionAttention(16, k=5))
    calls, _ = _record(block, _x(3))
    selected, affinity = panels_for(block, calls)
    theta = block.theta(_x(3))[0].pow(2).sum(0).flatten()
    top = {(int(i) // 10, int(i) % 10) for i in theta.topk(5).indices}
    assert set(selected.points) == top
    torch.testing.assert_close(selected.data.flatten(), theta)
    assert affinity.data.shape == (8, 8)
    torch.testing.assert_close(affinity.data.sum(1), torch.ones(8))


def test_gc_weights_pool_the_context_the_block_uses():
    block = randomise(GlobalContext(16, 0.25))
    x = _x(4)
    calls, _ = _record(block, x)
    (panel, ) = panels_for(block, calls)
    context = x[0].flatten(1) @ panel.data.flatten()
    torch.testing.assert_close(context, block.spatial_pool(x)[0, :, 0, 0],
                               rtol=1e-5, atol=1e-6)


def test_channel_gates_are_the_gates_applied():
    x = _x(5)
    for block in [SqueezeExcitation(16), EfficientChannelAttention(16),
                  SelfAdaptivePoolingAttention(16),
                  MultiSpectralChannelAttention(16)]:
        calls, out = _record(randomise(block), x)
        (panel, ) = panels_for(block, calls)
        assert panel.kind == 'bars'
        torch.testing.assert_close(x[0] * panel.data.view(-1, 1, 1), out[0],
                                   rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('make', [
    lambda: CBAM(16), lambda: SpatialChannelSqueezeExcitation(16),
    lambda: BottleneckAttention(16), lambda: ChannelAttention(16),
    lambda: AsymmetricPyramidNonLocal(16, hidden_channels=8)])
def test_every_drawable_block_draws(make, tmp_path):
    block = randomise(make())
    calls, _ = _record(block, _x(6))
    panels = panels_for(block, calls)
    assert panels and all(torch.isfinite(p.data).any() for p in panels)
    image = np.zeros((48, 80, 3), np.uint8)
    draw_module(str(tmp_path / 'm.png'), 'm', panels, image)
    from PIL import Image
    assert Image.open(tmp_path / 'm.png').size[0] > 100


def test_ocr_regions_are_softmaxes_over_positions():
    block = randomise(ObjectContext(16, 8))
    logits = torch.randn(1, 5, 6, 10)
    block.eval()
    with AttentionRecorder(block) as recorder:
        block(_x(7), logits)
    (_, calls), = recorder.calls.values()
    panels = panels_for(block, calls)
    present = set(logits[0].argmax(0).flatten().tolist())
    assert len(panels) == len(present)
    for panel in panels:
        k = int(panel.title.rsplit(' ', 1)[1])
        assert k in present
        torch.testing.assert_close(
            panel.data, torch.softmax(logits[0, k].flatten(), 0).view(6, 10))


def test_every_registered_picture_has_a_test_here():
    tested = {PositionAttention, NonLocal, CrissCrossAttention,
              SalientPositionAttention, GlobalContext, SqueezeExcitation,
              EfficientChannelAttention, SelfAdaptivePoolingAttention,
              MultiSpectralChannelAttention, CBAM,
              SpatialChannelSqueezeExcitation, BottleneckAttention,
              ChannelAttention, AsymmetricPyramidNonLocal, ObjectContext}
    assert set(PICTURES) == tested


@pytest.mark.filterwarnings('ignore')
def test_tool_draws_every_attention_module_of_a_model(tmp_path):
    from mmengine.runner.checkpoint import save_checkpoint
    from mmattn.datasets.synthetic import synthetic_image
    from mmattn.deployment import load_model
    import cv2
    config = config_path('danet',
                         'danet_r50-d8_4xb2-80k_cityscapes-512x1024.py')
    small = tmp_path / 'danet_small.py'
    small.write_text(
        f'_base_ = [{config!r}]\n'
        "test_pipeline = [dict(type='LoadImageFromFile'),\n"
        "                 dict(type='Resize', scale=(128, 64), "
        "keep_ratio=True), dict(type='PackSegInputs')]\n"
        'test_dataloader = dict(dataset=dict(pipeline=test_pipeline))\n')
    model, _ = load_model(str(small))
    checkpoint = tmp_path / 'danet.pth'
    save_checkpoint(dict(state_dict=model.state_dict(), meta={}),
                    str(checkpoint))
    image = tmp_path / 'scene.png'
    cv2.imwrite(str(image), synthetic_image(64, 128)[..., ::-1])
    tool = osp.join(ROOT, 'tools', 'analysis_tools',
                    'visualize_attention.py')
    done = subprocess.run(
        [sys.executable, tool, str(small), str(checkpoint), str(image),
         '--out', str(tmp_path / 'out'), '--points', '10,10', '100,50'],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ('decode_head.pam', 'decode_head.cam'):
        assert osp.isfile(tmp_path / 'out' / f'{name}.png'), done.stdout
    done = subprocess.run(
        [sys.executable, tool, str(small), str(checkpoint), str(image),
         '--out', str(tmp_path / 'out'), '--points', '500,10'],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode != 0 and 'outside the image' in done.stderr


@pytest.mark.filterwarnings('ignore')
def test_hook_writes_pictures_through_the_visualizer(cityscapes_root,
                                                     tmp_path):
    """One training iteration, then a validation: the hook draws the first
    two validation images through the runner's local visualizer backend."""
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    import glob
    import train
    from mmattn.testing import as_cli, long_range_smoke_options
    base = long_range_config('seg', 'spanet_r18-tiny_long-range-96x256.py')
    config = tmp_path / 'spanet_with_pictures.py'
    config.write_text(
        f'_base_ = [{base!r}]\n'
        "custom_hooks = [dict(type='mmattn.AttentionVisualizationHook', "
        "num_images=2)]\n")
    opts = long_range_smoke_options(cityscapes_root)
    opts['val_dataloader.batch_size'] = 1  # two validation batches
    train.main([str(config), '--work-dir', str(tmp_path)] + as_cli(opts))
    pictures = sorted(glob.glob(str(tmp_path / '*' / 'vis_data' /
                                    'vis_image' / 'attention_*.png')))
    names = [osp.basename(p) for p in pictures]
    assert names == ['attention_decode_head.spa_block_val0_1.png',
                     'attention_decode_head.spa_block_val1_1.png'], names
    from PIL import Image
    assert min(Image.open(pictures[0]).size) > 100


def test_a_block_is_drawn_by_naming_its_picture():
    import types

    from mmattn.blocks import SqueezeExcitation
    from mmattn.visualization.attention_maps import (DRAWERS, channel_gate,
                                                     pictures_of)

    class MyGate(SqueezeExcitation):
        picture = 'channel_gate'

    class Inherits(SqueezeExcitation):  # declares nothing: not drawn
        pass

    found = pictures_of(types.SimpleNamespace(MyGate=MyGate,
                                              Inherits=Inherits))
    assert found == {MyGate: channel_gate}
    assert set(DRAWERS) >= {'channel_gate', 'spatial_gate', 'non_local'}

    class Unknown(SqueezeExcitation):
        picture = 'sketch'

    with pytest.raises(KeyError, match="Unknown.picture = 'sketch' is not "
                       'one of the drawers'):
        pictures_of(types.SimpleNamespace(Unknown=Unknown))
