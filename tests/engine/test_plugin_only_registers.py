"""``import mmattn`` registers and changes nothing else (#23 item 1);
``mmattn.runtime`` changes exactly what it lists, and ``uninstall`` puts it
back (item 2)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))


@pytest.fixture(scope='module')
def probe(cityscapes_root, coco_root, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('host_snapshot')
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run(
        [sys.executable, osp.join(HERE, 'host_snapshot_probe.py'),
         str(cityscapes_root), str(coco_root), str(work_dir)],
        capture_output=True, text=True, env=env, timeout=900, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_changes_no_host_object(probe):
    # every attribute of the objects mmattn.runtime patches, sys.meta_path,
    # checkpoint schemes, torch's safe globals, os.environ: all the same
    # objects after `import mmattn`, except the file backend it registers
    assert probe['import'] == [
        'mmengine file backends.mmattn_atomic_local: added']
    assert probe['mmpretrain modules imported by mmattn'] == []


def test_stock_configs_train_with_the_hosts_untouched(probe):
    for task in ('seg', 'det'):
        trained = probe['trained'][task]
        assert trained['iter'] == 2, task
        assert trained['block'] == 'SqueezeExcitation'
        assert trained['mmattn_blocks'] > 0
    assert probe['train'] == [
        'mmengine file backends.mmattn_atomic_local: added']


def _patched_names(differences):
    return sorted(d.rsplit(': ', 1)[0] for d in differences)


def test_runtime_changes_exactly_what_it_lists(probe):
    listed = []
    for target in probe['runtime.PATCHED']:
        module, _, path = target.partition(':')
        owner, _, name = path.rpartition('.')
        listed.append(f'{module}:{owner}.{name}')
    # mmengine's register_scheme rebinds the table and replaces 3 entries
    schemes = ['mmengine.runner.checkpoint:CheckpointLoader._schemes'] + [
        f'CheckpointLoader._schemes.{p}' for p in ('', 'http://', 'https://')]
    assert _patched_names(probe['runtime.install']) == sorted(listed + schemes)
    assert probe['runtime.uninstall'] == []
    assert probe['runtime.reinstall'] == probe['runtime.install']
