"""tools/model_converters/timm2mmattn.py: a timm model (random weights
here: nothing is downloaded) or a timm checkpoint file becomes a checkpoint
that every config of configs/timm_pretrained/ loads as its backbone through
``init_cfg=dict(type='Pretrained')``, every key, and trains from through
tools/train.py."""
import glob
import os
import os.path as osp
import sys

import pytest
import torch
from helpers import ROOT, read_scalars
from mmengine.config import Config
from mmengine.registry import init_default_scope
from timm_reference import timm_package

from mmattn.models.backbones.timm_resnets import (TIMM_RESNETS,
                                                  convert_timm_resnet)
from mmattn.testing import as_cli, seg_smoke_options

sys.path.insert(0, osp.join(ROOT, 'tools', 'model_converters'))
import timm2mmattn  # noqa: E402

CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'timm_pretrained',
                                    '*.py')))


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    """architecture -> the tool's output for timm's random-init model."""
    timm_package()  # skips without timm
    out = tmp_path_factory.mktemp('timm2mmattn')
    paths = {}
    for name in TIMM_RESNETS:
        paths[name] = str(out / f'{name}_timm-in1k.pth')
        assert timm2mmattn.main([name, paths[name], '--random-init']) == 0
    return paths


def test_help_names_the_arguments(capsys):
    with pytest.raises(SystemExit) as exit_:
        timm2mmattn.main(['--help'])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for word in ('SRC', '--model', '--random-init', 'seresnet50.a1_in1k',
                 'configs/timm_pretrained/', *TIMM_RESNETS):
        assert word in text


def test_output_is_the_converted_timm_state(converted):
    timm = timm_package()
    torch.manual_seed(0)  # the tool's --seed default
    expected = convert_timm_resnet(
        timm.create_model('seresnet50', pretrained=False).state_dict(),
        'seresnet50')
    saved = torch.load(converted['seresnet50'], weights_only=True)
    assert saved['meta']['timm_model'] == 'seresnet50'
    assert saved['meta']['pretrained'] is False
    assert list(saved['state_dict']) == list(expected)
    for key, value in expected.items():
        assert torch.equal(saved['state_dict'][key], value), key


@pytest.mark.parametrize('suffix', ['.pth', '.safetensors'])
def test_a_timm_checkpoint_file_converts_the_same(converted, tmp_path,
                                                  suffix):
    timm = timm_package()
    torch.manual_seed(3)
    state = timm.create_model('ecaresnet50d', pretrained=False).state_dict()
    src = str(tmp_path / f'timm{suffix}')
    if suffix == '.safetensors':
        save_file = pytest.importorskip('safetensors.torch').save_file
        save_file({k: v.contiguous() for k, v in state.items()}, src)
    else:  # as timm's train.py saves: under state_dict, DDP-prefixed
        torch.save(dict(epoch=3, state_dict={f'module.{k}': v
                                             for k, v in state.items()}),
                   src)
    out = str(tmp_path / 'out.pth')
    timm2mmattn.main([src, out, '--model', 'ecaresnet50d.miil_in1k'])
    saved = torch.load(out, weights_only=True)['state_dict']
    expected = convert_timm_resnet(state, 'ecaresnet50d')
    assert set(saved) == set(expected)  # safetensors sorts its keys
    assert all(torch.equal(saved[k], v) for k, v in expected.items())


@pytest.mark.parametrize('argv, message', [
    (['x.pth', 'o.pth', '--model', 'seresnet50'], 'SRC x.pth: no such file'),
    (['gcresnet50t', 'o.pth', '--random-init'],
     "'gcresnet50t' does not map onto an OpenMMLab ResNet.*tiered"),
    (['resnet50', 'o.pth', '--random-init'],
     "'resnet50' is not one mmattn converts"),
    (['seresnet50', 'o.pth', '--model', 'ecaresnet50d'],
     '--model ecaresnet50d is for a checkpoint file'),
])
def test_bad_arguments_are_named(argv, message, capsys, tmp_path):
    os.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        timm2mmattn.main(argv)
    assert exit_.value.code == 2
    import re
    assert re.search(message, capsys.readouterr().err)
    assert not osp.exists(tmp_path / 'o.pth')


def test_a_file_needs_model(tmp_path, capsys):
    src = tmp_path / 'timm.pth'
    torch.save({}, src)
    with pytest.raises(SystemExit):
        timm2mmattn.main([str(src), str(tmp_path / 'o.pth')])
    assert 'give its architecture with --model' in capsys.readouterr().err


@pytest.mark.parametrize('config', CONFIGS,
                         ids=lambda p: osp.basename(p).split('_timm')[0])
def test_config_loads_every_key_through_init_cfg(converted, config):
    """The config's own init path (mmengine's PretrainedInit, which loads
    non-strictly) fills every backbone key from the file: nothing missing,
    nothing left over, every value the converted one."""
    import mmdet.models  # noqa: F401
    import mmseg.models  # noqa: F401
    from mmengine.registry import MODELS
    cfg = Config.fromfile(config)
    name = osp.basename(cfg.model.backbone.init_cfg.checkpoint)[
        :-len('_timm-in1k.pth')]
    cfg.model.backbone.init_cfg.checkpoint = converted[name]
    backbone = cfg.model.backbone
    inner = backbone.get('backbone', backbone)
    inner.norm_cfg = dict(type='BN', requires_grad=True)  # no process group
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    model.init_weights()
    saved = torch.load(converted[name], weights_only=True)['state_dict']
    loaded = model.backbone.state_dict()
    assert set(loaded) == set(saved)
    for key, value in saved.items():
        assert torch.equal(loaded[key], value), key


def test_fine_tunes_from_the_converted_checkpoint(converted, cityscapes_root,
                                                  tmp_path):
    """tools/train.py, the FCN config as shipped but for the data and the
    checkpoint path: the backbone loads the file (mmengine reports no
    missing or unexpected key) and trains."""
    import train
    config = [c for c in CONFIGS if 'fcn_seresnet50-d8' in c][0]
    opts = seg_smoke_options(cityscapes_root, size=(64, 128), iters=1,
                             batch_size=1, light_backbone=False)
    del opts['model.backbone.init_cfg']  # keep the config's Pretrained
    opts.update({
        'model.backbone.init_cfg.checkpoint': converted['seresnet50'],
        'train_cfg.val_interval': 100,
        'default_hooks.checkpoint.interval': 10**6,
        'default_hooks.checkpoint.save_last': False})
    train.main([config, '--work-dir', str(tmp_path)] + as_cli(opts))
    [log] = glob.glob(str(tmp_path / '*' / '*.log'))
    text = open(log).read()
    assert f'load model from: {converted["seresnet50"]}' in text
    assert 'missing keys' not in text and 'unexpected key' not in text
    losses = [r['loss'] for r in read_scalars(str(tmp_path)) if 'loss' in r]
    assert len(losses) == 1 and losses[0] > 0
