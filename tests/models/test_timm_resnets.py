"""timm's attention ResNets as OpenMMLab ResNets with mmattn blocks
(mmattn/models/backbones/timm_resnets.py, configs/timm_pretrained/,
tools/model_converters/timm2mmattn.py): timm's weights, converted, make the
shipped configs' backbones compute what timm computes, stage by stage."""
import glob
import os.path as osp

import pytest
import torch
from helpers import ROOT
from mmengine.config import Config
from timm_reference import timm_package

from mmattn.models.backbones.timm_resnets import (TIMM_RESNETS, UNMAPPED,
                                                  convert_timm_resnet,
                                                  timm_architecture,
                                                  timm_backbone_cfg)
from mmattn.registry import MODELS
from mmattn.testing import trained_batch_norms

CONFIG_DIR = osp.join(ROOT, 'configs', 'timm_pretrained')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))


def _timm_model(name, **kwargs):
    """timm's ``name`` without weights (no download), trained-looking BN
    statistics, float64, eval mode."""
    timm = timm_package()
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, **kwargs)
    model = trained_batch_norms(model).double()
    model.eval()
    return model


def _config_of(name, task):
    stem = name.replace('_', '-')
    pattern = (f'fcn_{stem}-d8_timm-in1k-pre_*.py' if task == 'seg' else
               f'faster-rcnn_{stem}_timm-in1k-pre_*.py')
    [path] = glob.glob(osp.join(CONFIG_DIR, pattern))
    return path


def _backbone_of(path):
    """The backbone of a shipped config, with plain BN (SyncBN needs a
    process group) and no init_cfg, float64, eval mode."""
    import mmdet.models  # noqa: F401
    import mmseg.models  # noqa: F401
    cfg = Config.fromfile(path)
    backbone = cfg.model.backbone.to_dict()
    inner = backbone.get('backbone', backbone)
    inner['norm_cfg'] = dict(type='BN', requires_grad=True)
    backbone.pop('init_cfg', None)
    inner.pop('init_cfg', None)
    inner['type'] = f'{cfg.default_scope}.{inner["type"]}'
    model = MODELS.build(backbone).double()
    model.eval()
    return model


def _stages(timm_model, x):
    return timm_model.forward_intermediates(
        x, indices=[1, 2, 3, 4], intermediates_only=True)


@pytest.mark.parametrize('task', ['det', 'seg'])
@pytest.mark.parametrize('name', list(TIMM_RESNETS))
def test_config_backbone_computes_what_timm_computes(name, task):
    """float64, relative 1e-6 (in fact equal): every stage of the Faster
    R-CNN config's backbone against timm's model; every stage of the FCN
    D8 config's against timm's ``output_stride=8`` model, except the
    dilated stages of the avg_down families, whose first shortcut pools
    differently (see timm_resnets.py), where the weights still load."""
    family = TIMM_RESNETS[name]
    theirs = _timm_model(name, **({'output_stride': 8} if task == 'seg'
                                  else {}))
    ours = _backbone_of(_config_of(name, task))
    ours.load_state_dict(convert_timm_resnet(theirs.state_dict(), name),
                         strict=True)
    x = torch.randn(1, 3, 64, 96, dtype=torch.float64)
    with torch.no_grad():
        expected, got = _stages(theirs, x), ours(x)
    same = 2 if task == 'seg' and family.avg_down else 4
    for stage in range(4):
        assert got[stage].shape == expected[stage].shape
        if stage < same:
            torch.testing.assert_close(got[stage], expected[stage],
                                       rtol=1e-6, atol=0)
        else:  # the documented difference, not a silent one
            assert not torch.allclose(got[stage], expected[stage],
                                      rtol=1e-3, atol=0)
    # not vacuous: the converted weights are what makes them equal
    fresh = _backbone_of(_config_of(name, task))
    with torch.no_grad():
        assert not torch.allclose(fresh(x)[0], expected[0], rtol=1e-3)


@pytest.mark.parametrize('name', list(TIMM_RESNETS))
def test_key_map_is_one_to_one_in_both_directions(name):
    """Every timm key but the classifier's maps to one backbone key, and
    every backbone key is one of them (strict loading, per config)."""
    state = _timm_model(name).state_dict()
    timm_keys = [k for k in state if not k.startswith('fc.')]
    converted = convert_timm_resnet(state, name)
    assert len(converted) == len(timm_keys)  # nothing merged or dropped
    for key, value in converted.items():
        assert isinstance(value, torch.Tensor), key
    import mmdet.models  # noqa: F401
    import mmseg.models  # noqa: F401
    for scope in ('mmseg', 'mmdet'):
        backbone = MODELS.build(timm_backbone_cfg(name, scope))
        assert set(backbone.state_dict()) == set(converted)
    # renamed, not copied, in timm's order
    assert [v.data_ptr() for v in converted.values()] == [
        state[k].data_ptr() for k in timm_keys]


def test_a_checkpoint_of_another_architecture_is_refused():
    state = _timm_model('seresnet50').state_dict()
    with pytest.raises(KeyError, match=r'conv1\.weight: not a key of the '
                       r'deep stem of ecaresnet50d'):
        convert_timm_resnet(state, 'ecaresnet50d')
    # same stem, other blocks: the first key that does not fit names itself
    with pytest.raises(KeyError, match=r'layer1\.0\.conv2\.weight: no rule '
                       r"for this key of timm 'skresnext50_32x4d'"):
        convert_timm_resnet(state, 'skresnext50_32x4d')


@pytest.mark.parametrize('name', sorted(UNMAPPED))
def test_unmapped_architectures_say_why(name):
    with pytest.raises(ValueError, match=rf"'{name}.x' does not map.*"
                       rf'{UNMAPPED[name][:20]}'):
        timm_architecture(f'{name}.x')


def test_names_and_tags():
    assert timm_architecture('seresnet50.a1_in1k')[0] == 'seresnet50'
    with pytest.raises(ValueError, match=r"'resnet50' is not one mmattn "
                       r'converts.*seresnet50'):
        timm_architecture('resnet50')
    with pytest.raises(ValueError, match=r"scope must be None, 'mmseg' or "
                       r"'mmdet', got 'mmpretrain'"):
        timm_backbone_cfg('seresnet50', 'mmpretrain')


def test_every_family_has_both_configs_named_as_openmmlab_does():
    assert len(CONFIGS) == 2 * len(TIMM_RESNETS)
    for name in TIMM_RESNETS:
        for task in ('seg', 'det'):
            cfg = Config.fromfile(_config_of(name, task))
            assert 'mmattn' in cfg.custom_imports['imports']
            backbone = cfg.model.backbone
            init = backbone.init_cfg
            assert init.type == 'Pretrained'
            assert init.checkpoint == f'pretrain/{name}_timm-in1k.pth'
            # the command in the header writes that file
            tag = f'{name}.{TIMM_RESNETS[name].tag}'
            assert (f'timm2mmattn.py {tag} {init.checkpoint}'
                    in open(_config_of(name, task)).read())


def test_docs_list_every_architecture_and_every_refusal():
    docs = open(osp.join(ROOT, 'docs', 'pretrained.md')).read()
    for name, family in TIMM_RESNETS.items():
        assert f'`{name}.{family.tag}`' in docs
    for name, why in UNMAPPED.items():
        assert f'| `{name}` | {why} |' in docs
    for path in CONFIGS:
        assert osp.basename(path) in docs
