"""tools/check_cuda_build.sh and tools/check_stacks.sh on their argument
handling (#22): the builds they run take tens of minutes and are not run in
the suite; a bad argument is named with exit 2, and the CUDA build's plan is
checked where a CUDA torch and nvcc are here."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _run(script, *args, env=None):
    return subprocess.run(['bash', osp.join(ROOT, 'tools', script), *args],
                          capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env=env)


@pytest.mark.parametrize('args,message', [
    (['--jobs', '0'], "--jobs: expected a whole number >= 1, got '0'"),
    (['--jobs'], '--jobs: expected a whole number'),
    (['--arch-list', 'sm_90'], "--arch-list: expected compute capabilities"),
    (['--arch-list'], '--arch-list needs a list'),
    (['--python', '/nonexistent/python'], "--python: '/nonexistent/python'"),
    (['--frobnicate'], "unknown argument '--frobnicate'"),
])
def test_cuda_build_names_bad_arguments(args, message):
    done = _run('check_cuda_build.sh', *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert '--arch-list' in done.stderr  # the usage follows


def test_cuda_build_refuses_a_cpu_torch(tmp_path):
    # an interpreter whose torch reports no CUDA
    fake = tmp_path / 'python'
    fake.write_text('#!/bin/sh\necho None\n')
    fake.chmod(0o755)
    done = _run('check_cuda_build.sh', '--python', str(fake))
    assert done.returncode == 2
    assert 'is a CPU build: a CUDA build of torch is needed' in done.stderr


def test_cuda_build_help_exits_0():
    done = _run('check_cuda_build.sh', '--help')
    assert done.returncode == 0 and '--dry-run' in done.stderr


@pytest.mark.skipif(shutil.which('nvcc') is None, reason='no nvcc here')
def test_cuda_build_dry_run_plans_cuda_ops_for_the_default_archs():
    import torch
    if torch.version.cuda is None:
        pytest.skip('torch here is a CPU build')
    env = dict(os.environ)
    env.pop('TORCH_CUDA_ARCH_LIST', None)
    done = _run('check_cuda_build.sh', '--python', sys.executable,
                '--dry-run', env=env)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan['cuda_ops'] and plan['torch_cuda'] == torch.version.cuda
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    import build_mmcv
    assert plan['cuda_arch_list'] == build_mmcv.DEFAULT_ARCH_LIST
    assert osp.isfile(osp.join(plan['cuda_home'], 'bin', 'nvcc'))
    for header in build_mmcv.CUDA_HEADERS:  # each found somewhere
        assert any(osp.isfile(osp.join(d, header)) for d in
                   [osp.join(plan['cuda_home'], 'include')] +
                   plan['cuda_include_dirs']), header
    with_arch = _run('check_cuda_build.sh', '--python', sys.executable,
                     '--dry-run', '--arch-list', '9.0', env=env)
    assert json.loads(with_arch.stdout)['cuda_arch_list'] == '9.0'


@pytest.mark.parametrize('args,message', [
    (['--stacks', 'torch9.9'], "--stacks: unknown stack 'torch9.9'"),
    (['--stacks'], '--stacks needs names'),
    (['--bogus'], "unknown argument '--bogus'"),
])
def test_check_stacks_names_bad_arguments(args, message):
    done = _run('check_stacks.sh', *args)
    assert done.returncode == 2
    assert message in done.stderr and '--fresh' in done.stderr


def test_check_stacks_lists_the_supported_stacks():
    done = _run('check_stacks.sh', '--list')
    assert done.returncode == 0
    names = [line.split(':')[0] for line in done.stdout.splitlines()]
    assert names == ['torch2.14.1', 'torch2.13.0-cpu', 'torch2.6.0',
                     'torch2.1.2']
    # the default stack is the pinned one
    pins = open(osp.join(ROOT, 'requirements', 'stack.txt')).read()
    first = done.stdout.splitlines()[0]
    for pin in ('torch==', 'torchvision=='):
        line = next(x for x in pins.splitlines() if x.startswith(pin))
        assert line in first


def test_cuda_build_check_only_needs_a_build(tmp_path):
    import torch
    if torch.version.cuda is None:
        pytest.skip('torch here is a CPU build')
    done = _run('check_cuda_build.sh', '--python', sys.executable,
                '--check-only', '--out', str(tmp_path))
    assert done.returncode == 2
    assert f'--check-only: no build.json in {tmp_path}' in done.stderr
