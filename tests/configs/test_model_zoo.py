"""The model zoo (docs/model_zoo.md, configs/*/metafile.yaml) agrees with
the installed mmseg's metafiles, and each listed config is mmseg's config of
that checkpoint with only the head switched to mmattn's drop-in.

Nothing here downloads: models are built, never initialised from
``pretrained``, and no checkpoint is loaded.
"""
import os.path as osp
import re

import pytest
import yaml
from helpers import ROOT
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmseg

MMSEG_CONFIGS = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs')

#: our config dir -> (mmseg config dir, model name in both metafiles, head)
ZOO = {
    'danet': ('danet', 'danet_r50-d8_4xb2-80k_cityscapes-512x1024', 'DAHead'),
    'ann': ('ann', 'ann_r50-d8_4xb2-80k_cityscapes-512x1024', 'ANNHead'),
    'ccnet': ('ccnet', 'ccnet_r50-d8_4xb2-80k_cityscapes-512x1024',
              'CCHead'),
    'gcnet': ('gcnet', 'gcnet_r50-d8_4xb2-80k_cityscapes-512x1024',
              'GCHead'),
    # mmseg publishes no R50 OCRNet on Cityscapes (see docs/model_zoo.md)
    'ocrnet': ('ocrnet', 'ocrnet_r101-d8_8xb2-80k_cityscapes-512x1024',
               'OCRHead'),
    'nonlocal': ('nonlocal_net',
                 'nonlocal_r50-d8_4xb2-80k_cityscapes-512x1024', 'NLHead'),
}
ALGOS = sorted(ZOO)


def _ours(algo):
    meta = yaml.safe_load(open(osp.join(ROOT, 'configs', algo,
                                        'metafile.yaml')))
    # the zoo's entry; the folder's other configs have no published weights
    [model] = [m for m in meta['Models'] if m['Name'] == ZOO[algo][1]]
    assert sum('Weights' in m for m in meta['Models']) == 1
    [collection] = [c for c in meta['Collections']
                    if c['Name'] == model['In Collection']]
    return collection, model


def _mmseg(algo):
    mmseg_dir, name, _ = ZOO[algo]
    meta = yaml.safe_load(open(osp.join(MMSEG_CONFIGS, mmseg_dir,
                                        'metafile.yaml')))
    models = [m for m in meta['Models'] if m['Name'] == name]
    assert len(models) == 1, name
    return meta['Collections'][0], models[0]


def _our_config_path(algo):
    return osp.join(ROOT, 'configs', algo, ZOO[algo][1] + '.py')


def _mmseg_config_path(algo):
    mmseg_dir, name, _ = ZOO[algo]
    return osp.join(MMSEG_CONFIGS, mmseg_dir, name + '.py')


@pytest.mark.parametrize('algo', ALGOS)
def test_metafile_matches_mmseg(algo):
    coll, model = _ours(algo)
    their_coll, theirs = _mmseg(algo)
    assert coll['Name'] == their_coll['Name'] == model['In Collection']
    assert coll['Paper'] == their_coll['Paper'] == model['Paper']
    assert model['Name'] == theirs['Name']
    assert model['Weights'] == theirs['Weights']
    assert model['Converted From']['Weights'] == theirs['Weights']
    assert model['Training log'] == theirs['Training log']
    assert model['Results']['Metrics'] == theirs['Results']['Metrics']
    assert model['Results']['Dataset'] == 'Cityscapes'
    # mmseg's OCRNet entries carry a stray '# ResNet backbone' as Training
    # Data; every other metadata field is copied
    ours_md, their_md = dict(model['Metadata']), dict(theirs['Metadata'])
    assert ours_md.pop('Training Data') == 'Cityscapes'
    their_md.pop('Training Data')
    assert ours_md == their_md
    assert model['Config'] == f'configs/{algo}/{ZOO[algo][1]}.py'
    assert osp.exists(osp.join(ROOT, model['Config']))
    assert osp.exists(osp.join(ROOT, model['Code']))
    assert model['Weights'].startswith('https://download.openmmlab.com/')


def _table_rows():
    """The Cityscapes table of docs/model_zoo.md as dicts by header."""
    lines = open(osp.join(ROOT, 'docs', 'model_zoo.md')).read().splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.startswith('| Method |'))
    header = [c.strip() for c in lines[start].strip('|').split('|')]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith('|'):
            break
        cells = [c.strip() for c in line.strip('|').split('|')]
        assert len(cells) == len(header), line
        rows.append(dict(zip(header, cells)))
    return rows


def _link(cell):
    match = re.fullmatch(r'\[([^\]]+)\]\(([^)]+)\)', cell)
    assert match, cell
    return match.groups()


def test_model_zoo_table_matches_metafiles():
    rows = _table_rows()
    by_config = {}
    for row in rows:
        text, target = _link(row['Config'])
        assert osp.normpath(osp.join('docs', target)) == \
            osp.join('configs', text)
        by_config[osp.join('configs', text)] = row
    assert len(by_config) == len(rows) == len(ZOO)
    for algo in ALGOS:
        coll, model = _ours(algo)
        row = by_config[model['Config']]
        metrics = model['Results']['Metrics']
        assert row['Method'] == coll['Name']
        assert row['Head'] == f'`mmattn.{ZOO[algo][2]}`'
        assert row['Backbone'] == model['Metadata']['Architecture'][0]
        assert int(row['Batch']) == model['Metadata']['Batch Size']
        assert float(row['mIoU']) == metrics['mIoU']
        ms = metrics.get('mIoU(ms+flip)')
        assert row['mIoU (ms+flip)'] == ('-' if ms is None else str(ms))
        assert _link(row['Checkpoint (mmseg)'])[1] == model['Weights']
        assert (row['Crop size'], row['Iterations']) == ('512x1024', '80k')


def _as_mmseg(cfg):
    """``cfg`` with every ``mmattn.X`` type renamed to ``X`` and without the
    ``_scope_`` keys mmengine adds to what comes from an ``mmseg::`` base
    (the default scope is mmseg either way)."""
    if isinstance(cfg, dict):
        return {
            k: (v[len('mmattn.'):] if k == 'type' and isinstance(v, str)
                and v.startswith('mmattn.') else _as_mmseg(v))
            for k, v in cfg.items() if k != '_scope_'
        }
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(_as_mmseg(v) for v in cfg)
    return cfg


def _heads(model_cfg):
    head = model_cfg['decode_head']
    return head if isinstance(head, list) else [head]


@pytest.mark.parametrize('algo', ALGOS)
def test_config_is_mmseg_config_with_our_head(algo):
    ours = Config.fromfile(_our_config_path(algo)).to_dict()
    theirs = Config.fromfile(_mmseg_config_path(algo)).to_dict()
    assert ours.pop('custom_imports') == dict(
        imports=['mmattn', 'mmattn.runtime'], allow_failed_imports=False)
    switched = [h['type'] for h in _heads(ours['model'])
                if h['type'].startswith('mmattn.')]
    assert switched == [f'mmattn.{ZOO[algo][2]}']
    assert theirs['default_scope'] == 'mmseg'
    assert _as_mmseg(ours) == _as_mmseg(theirs)


@pytest.mark.parametrize('algo', ALGOS)
def test_config_builds_with_our_head_and_mmseg_keys(algo):
    """Each zoo config builds (no weights are loaded), its head is mmattn's,
    and that head's state-dict keys and shapes are those of the mmseg head
    the published checkpoint was saved from, so the checkpoint loads."""
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = Config.fromfile(_our_config_path(algo))
    model = MODELS.build(cfg.model)
    heads = list(model.decode_head) if isinstance(
        cfg.model.decode_head, list) else [model.decode_head]
    ours = [h for h in heads if type(h).__module__.startswith('mmattn.')]
    assert len(ours) == 1
    head = ours[0]
    assert type(head).__name__ == ZOO[algo][2]

    stock_cfg = Config.fromfile(_mmseg_config_path(algo))
    stock_head_cfg = next(h for h in _heads(stock_cfg.model)
                          if h['type'] == ZOO[algo][2])
    stock = MODELS.build(stock_head_cfg)
    assert type(stock).__module__.startswith('mmseg.')
    ours_state = {k: v.shape for k, v in head.state_dict().items()}
    stock_state = {k: v.shape for k, v in stock.state_dict().items()}
    assert ours_state == stock_state
