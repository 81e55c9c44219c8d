"""tools/gpu_check.sh on CPU (#11 item 5): without CUDA it skips cleanly and
exits 0; with --device cpu --tiny it runs every check; with the wheels of
--prepare (mmcv-lite shadowing the full mmcv) the blocks still run and
mmseg/mmdet are skipped with a line saying why, as on the bare GPU machine."""
import json
import os
import os.path as osp
import subprocess

import pytest
import torch
from conftest import ROOT

SCRIPT = osp.join(ROOT, 'tools', 'gpu_check.sh')


def _run(*args, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS='2')
    return subprocess.run(['bash', SCRIPT, *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env=env)


@pytest.mark.skipif(torch.cuda.is_available(), reason='a CUDA device is here')
def test_without_cuda_every_cuda_check_is_skipped_and_exit_is_0(tmp_path):
    rows_file = tmp_path / 'rows.json'
    done = _run('--json', str(rows_file))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert 'mmattn GPU check summary' in done.stdout
    rows = json.loads(rows_file.read_text())
    sections = {r['section'] for r in rows if r['status'] == 'SKIP'}
    assert {'salient_select', 'dot_product_attention', 'blocks', 'benchmark',
            'mmseg/mmdet'} <= sections
    assert not [r for r in rows if r['status'] == 'FAIL']


def _rows(tmp_path, *args):
    rows_file = tmp_path / 'rows.json'
    done = _run(*args, '--device', 'cpu', '--tiny', '--json', str(rows_file))
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    return json.loads(rows_file.read_text())


def test_every_check_runs_on_cpu(tmp_path):
    from mmattn.blocks.catalog import registered_blocks
    rows = _rows(tmp_path)
    assert not [r for r in rows if r['status'] != 'PASS']
    checks = {(r['section'], r['check']) for r in rows}
    for cls in registered_blocks():
        assert ('blocks', cls.__name__) in checks
    for name in ('mmseg train step', 'mmdet train step'):
        assert ('mmseg/mmdet', name) in checks
    assert ('benchmark', 'ratios vs PAM (same run)') in checks
    assert sum(r['section'] == 'dot_product_attention' for r in rows) == 24


def test_prepared_wheels_give_the_bare_machine_setup(tmp_path):
    wheels = tmp_path / 'wheels'
    prepared = _run('--prepare', str(wheels), timeout=300)
    if prepared.returncode != 0:
        pytest.skip('the package index is not reachable: '
                    + prepared.stderr[-300:])
    names = sorted(os.listdir(wheels))
    assert any(n.startswith('mmcv_lite-2.1.0') for n in names), names
    assert any(n.startswith('mmengine-0.10.7') for n in names), names
    assert all(n.endswith('-none-any.whl') for n in names), names
    rows = _rows(tmp_path, '--wheels', str(wheels))
    status = {(r['section'], r['check']): r for r in rows}
    # mmcv-lite shadows the full mmcv: the blocks run, mmseg/mmdet cannot
    assert status[('blocks', 'SalientPositionAttention')]['status'] == 'PASS'
    for package in ('mmseg', 'mmdet'):
        row = status[('mmseg/mmdet', package)]
        assert row['status'] == 'SKIP' and 'mmcv._ext' in row['detail']
