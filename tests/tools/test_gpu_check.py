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
from helpers import ROOT

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


def _gpu_check_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'gpu_check', osp.join(ROOT, 'tools', 'analysis_tools',
                              'gpu_check.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_mmcv_wheel(path, torch_version, git_version):
    """A wheel holding only the build record tools/build_mmcv.py writes."""
    import zipfile
    with zipfile.ZipFile(path, 'w') as wheel:
        wheel.writestr('mmcv/_mmattn_build.py', 'BUILD = ' + repr(dict(
            mmcv_version='2.1.0', torch_version=torch_version,
            torch_git_version=git_version, torch_cuda='12.1',
            cxx_std='c++17', cuda_ops=True, cuda_arch_list='9.0')) + '\n')
    return str(path)


def test_mmcv_wheel_for_another_torch_is_skipped_naming_both(tmp_path):
    wheel = _fake_mmcv_wheel(tmp_path / 'mmcv-2.1.0-cp311-cp311-linux.whl',
                             '2.1.2+cu121', 'a8e7c98cb95ff')
    rows_file = tmp_path / 'rows.json'
    done = _run('--mmcv-wheel', wheel, '--json', str(rows_file))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    row = next(r for r in json.loads(rows_file.read_text())
               if r['section'] == 'mmcv ops')
    assert row['status'] == 'SKIP'
    assert 'built for torch 2.1.2+cu121' in row['detail']
    assert f'this machine has torch {torch.__version__}' in row['detail']


def test_mmcv_wheel_fit_reads_the_record(tmp_path):
    gpu_check = _gpu_check_module()
    same = _fake_mmcv_wheel(tmp_path / 'same.whl', torch.__version__,
                            torch.version.git_version)
    build = gpu_check.mmcv_wheel_build(same)
    assert build['torch_version'] == torch.__version__
    assert gpu_check.mmcv_wheel_misfit(build, torch) is None
    other_commit = dict(build, torch_git_version='0' * 40)
    assert 'built for torch' in gpu_check.mmcv_wheel_misfit(other_commit,
                                                            torch)
    assert 'records no build' in gpu_check.mmcv_wheel_misfit(None, torch)


def test_mmcv_ops_check_runs_on_cpu():
    """The ops section's code path on CPU, with the installed mmcv."""
    gpu_check = _gpu_check_module()
    report = gpu_check.Report(budget=300)
    gpu_check.check_mmcv_ops(report, torch, 'cpu', True)
    checks = {r['check']: r for r in report.rows}
    assert set(checks) == {'compiled with', 'RoIAlign', 'NMS',
                           'CrissCrossAttention'}
    assert all(r['status'] == 'PASS' for r in report.rows), report.rows
