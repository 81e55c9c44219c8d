"""The README's first screen stays true: its quick-start config builds what
it says, and its results table is the benchmark's JSON; the relative links
of the README and docs lead to files that exist."""
import glob
import json
import os.path as osp
import re
import sys

from helpers import LONG_RANGE, ROOT
from mmengine.config import Config

README = osp.join(ROOT, 'README.md')


def _readme():
    with open(README) as f:
        return f.read()


def test_quick_start_config_builds_the_head_and_the_plugins(tmp_path):
    import mmseg.models  # noqa: F401
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from mmattn.blocks import SqueezeExcitation
    from mmattn.models.decode_heads import DAHead
    block = re.search(r'## Quick start\n\n```python\n(.*?)```', _readme(),
                      re.S).group(1)
    path = tmp_path / 'my_config.py'
    path.write_text(block)
    cfg = Config.fromfile(str(path))
    cfg.model.backbone.norm_cfg = dict(type='BN', requires_grad=True)
    cfg.model.decode_head.norm_cfg = dict(type='BN', requires_grad=True)
    cfg.model.auxiliary_head.norm_cfg = dict(type='BN', requires_grad=True)
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    assert type(model.decode_head) is DAHead
    gates = [m for m in model.backbone.modules()
             if isinstance(m, SqueezeExcitation)]
    assert len(gates) == 16  # every bottleneck of a ResNet-50


def test_results_table_is_the_benchmarks_json():
    sys.path.insert(0, LONG_RANGE)
    from long_range.report import format_summary
    with open(osp.join(ROOT, 'docs', 'long_range', 'results.json')) as f:
        runs = json.load(f)['runs']
    assert format_summary(runs) in _readme()


def test_relative_links_lead_to_existing_files():
    pages = [README] + glob.glob(osp.join(ROOT, 'docs', '*.md')) + glob.glob(
        osp.join(ROOT, 'configs', '*', 'README.md'))
    broken = []
    for page in pages:
        text = open(page).read()
        for target in re.findall(r'\]\(([^)\s]+)\)', text):
            if re.match(r'[a-z]+://|#|mailto:', target):
                continue
            path = osp.normpath(osp.join(osp.dirname(page),
                                         target.split('#')[0]))
            if not osp.exists(path):
                broken.append(f'{osp.relpath(page, ROOT)} -> {target}')
    assert not broken, broken
