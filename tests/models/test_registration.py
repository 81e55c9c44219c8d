"""mmattn modules build from unmodified mmseg/mmdet configs via custom_imports."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmattn
from mmattn.registry import MODELS as MMATTN_MODELS


def _stock_config(package, relpath):
    pkg = __import__(package)
    path = osp.join(osp.dirname(pkg.__file__), '.mim', 'configs', relpath)
    assert osp.exists(path), path
    return Config.fromfile(path)


def _with_custom_imports(cfg):
    # What a user adds to an unmodified config; Config.fromfile honours it.
    text = cfg.pretty_text + (
        "\ncustom_imports = dict(imports=['mmattn'], "
        'allow_failed_imports=False)\n')
    return Config.fromstring(text, file_format='.py')



def test_seg_plugin_and_head_under_mmseg_scope():
    cfg = _with_custom_imports(
        _stock_config('mmseg', '_base_/models/nonlocal_r50-d8.py'))
    cfg.model.pretrained = None
    cfg.model.backbone.depth = 50
    cfg.model.backbone.norm_cfg = dict(type='BN', requires_grad=True)
    cfg.model.backbone.plugins = [
        dict(cfg=dict(type='mmattn.SalientPositionAttention', k=4),
             stages=(False, False, False, True), position='after_conv3')
    ]
    cfg.model.decode_head = dict(
        type='mmattn.SPAHead', in_channels=2048, in_index=3, channels=16,
        num_classes=19, norm_cfg=dict(type='BN'))
    cfg.model.auxiliary_head = None
    init_default_scope('mmseg')
    from mmengine.registry import MODELS
    model = MODELS.build(cfg.model)
    assert type(model.decode_head).__name__ == 'SPAHead'
    assert type(model.decode_head) is MMATTN_MODELS.get('SPAHead')
    block = model.backbone.layer4[0].spa
    assert isinstance(block, mmattn.blocks.SalientPositionAttention)
    out = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert out.shape == (1, 19, 8, 8)


def test_det_plugin_under_mmdet_scope():
    cfg = _with_custom_imports(
        _stock_config('mmdet', 'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'))
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.plugins = [
        dict(cfg=dict(type='mmattn.SalientPositionAttention'),
             stages=(False, False, True, True), position='after_conv2'),
        # a second identical plugin in one block needs a postfix (mmcv rule)
        dict(cfg=dict(type='mmattn.SalientPositionAttention', k=2,
                      postfix='_2'),
             stages=(False, False, False, True), position='after_conv3'),
    ]
    init_default_scope('mmdet')
    from mmengine.registry import MODELS
    model = MODELS.build(cfg.model)
    layer = model.backbone.layer4[0]
    assert layer.after_conv2_plugin_names == ['spa']
    assert layer.after_conv3_plugin_names == ['spa_2']
    assert isinstance(layer.spa_2, mmattn.blocks.SalientPositionAttention)
    assert layer.spa_2.k == 2
    feats = model.extract_feat(torch.randn(1, 3, 64, 64))
    assert len(feats) == 5


@pytest.mark.parametrize('scope', ['mmseg', 'mmdet', 'mmpretrain'])
def test_every_mmattn_module_is_reachable_by_scoped_name(scope):
    init_default_scope(scope)
    from mmengine.registry import MODELS
    names = list(MMATTN_MODELS.module_dict)
    assert names, 'nothing registered'
    for name in names:
        assert MODELS.get(f'mmattn.{name}') is MMATTN_MODELS.get(name)


def _unprefixed_names_resolving_to_mmattn():
    """(scope, name) for every mmattn name that, written without the
    ``mmattn.`` prefix, resolves to an mmattn class in mmengine's root,
    mmseg's or mmdet's registry (what a build under those default scopes
    looks up). The same name may exist upstream (mmcv registers its
    ``CrissCrossAttention`` in the root): it must resolve to upstream's."""
    import mmdet.models  # noqa: F401
    import mmpretrain.models  # noqa: F401
    import mmseg.models  # noqa: F401
    from mmdet.registry import MODELS as DET
    from mmengine.registry import MODELS as ROOT
    from mmpretrain.registry import MODELS as PRETRAIN
    from mmseg.registry import MODELS as SEG
    shadowed = []
    for name in MMATTN_MODELS.module_dict:
        for registry in (ROOT, SEG, DET, PRETRAIN):
            found = registry.get(name)
            if found is not None and found.__module__.startswith('mmattn'):
                shadowed.append((registry.scope, name))
    return shadowed


def test_no_mmattn_name_shadows_upstream():
    assert _unprefixed_names_resolving_to_mmattn() == []
    # names both sides use: the unprefixed one stays upstream's
    from mmengine.registry import MODELS as ROOT
    from mmseg.registry import MODELS as SEG
    assert ROOT.get('CrissCrossAttention').__module__.startswith('mmcv.')
    assert SEG.get('CCHead').__module__.startswith('mmseg.')


@pytest.mark.parametrize('registry',
                         ['mmengine', 'mmseg', 'mmdet', 'mmpretrain'])
def test_shadow_check_catches_an_mmattn_class_under_an_upstream_name(
        registry, monkeypatch):
    module = __import__(f'{registry}.registry', fromlist=['MODELS'])
    monkeypatch.setitem(module.MODELS._module_dict, 'CrissCrossAttention',
                        MMATTN_MODELS.get('CrissCrossAttention'))
    assert (registry, 'CrissCrossAttention') in \
        _unprefixed_names_resolving_to_mmattn()
