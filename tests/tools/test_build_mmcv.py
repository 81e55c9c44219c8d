"""tools/build_mmcv.py and the mmcv checks of tools/check_install.py (#22):
the C++ standard is probed from torch's headers, CUDA ops follow the visible
GPU or the user's switch, the cache key holds every fact the binary depends
on, the patch of mmcv's setup.py is exact, and an mmcv built for another
torch, or with CPU ops beside a CUDA torch that needs CUDA ops, is refused."""
import os
import os.path as osp
import subprocess
import sys
import threading

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools'))
import build_mmcv  # noqa: E402
import check_install  # noqa: E402

FACTS = dict(torch_version='2.14.1+cu130', torch_git_version='5c48869085840',
             torch_cuda='13.0', include_paths=[], gpu_capabilities=[])


def _plan(environ, **facts):
    environ = dict({'MMCV_CXX_STD': 'c++20'}, **environ)  # no probe
    return build_mmcv.plan(environ, dict(FACTS, **facts))


def test_cxx_standard_is_the_oldest_the_installed_torch_accepts():
    import torch
    from torch.utils import cpp_extension
    std = build_mmcv.probe_cxx_standard(cpp_extension.include_paths())
    older = build_mmcv.CXX_STANDARDS[:build_mmcv.CXX_STANDARDS.index(std)]
    version = tuple(int(v) for v in torch.__version__.split('.')[:2])
    # torch's own rule, read from its header rather than assumed here
    header = open(osp.join(cpp_extension.include_paths()[0], 'ATen',
                           'ATen.h')).read()
    if '202002L' in header:
        assert std == 'c++20' and older == ('c++17', )
    else:
        assert std == 'c++17', (version, std)


def test_cxx_standard_probe_names_each_refusal(tmp_path):
    aten = tmp_path / 'ATen'
    aten.mkdir()
    (aten / 'ATen.h').write_text('#error no standard is good enough\n')
    with pytest.raises(build_mmcv.BuildError) as err:
        build_mmcv.probe_cxx_standard([str(tmp_path)])
    for std in build_mmcv.CXX_STANDARDS:
        assert f'-std={std}' in str(err.value)
    assert 'no standard is good enough' in str(err.value)


@pytest.mark.parametrize('environ,gpus,expected,reason', [
    ({}, [], False, 'no GPU is visible'),
    ({}, ['9.0'], True, 'a GPU is visible (9.0)'),
    ({'MMATTN_CUDA_OPS': '1'}, [], True, 'MMATTN_CUDA_OPS=1'),
    ({'FORCE_CUDA': '1'}, [], True, 'FORCE_CUDA=1'),
    ({'MMATTN_CUDA_OPS': '0'}, ['9.0'], False, 'MMATTN_CUDA_OPS=0'),
])
def test_cuda_ops_follow_the_gpu_or_the_switch(environ, gpus, expected,
                                               reason):
    wanted, why = build_mmcv.want_cuda_ops(environ, '13.0', gpus)
    assert wanted is expected
    assert reason in why


def test_cuda_ops_refused_for_a_cpu_torch_and_a_bad_switch():
    with pytest.raises(build_mmcv.BuildError, match='CPU build'):
        build_mmcv.want_cuda_ops({'MMATTN_CUDA_OPS': '1'}, None, [])
    with pytest.raises(build_mmcv.BuildError, match='MMATTN_CUDA_OPS=.yes.'):
        build_mmcv.want_cuda_ops({'MMATTN_CUDA_OPS': 'yes'}, '13.0', [])


def test_arch_list_from_the_user_the_gpus_or_the_default():
    assert build_mmcv.cuda_arch_list({'TORCH_CUDA_ARCH_LIST': '7.5'},
                                     ['9.0'])[0] == '7.5'
    assert build_mmcv.cuda_arch_list({}, ['9.0', '8.0', '9.0'])[0] == \
        '8.0;9.0'
    default = build_mmcv.cuda_arch_list({}, [])[0]
    assert default == build_mmcv.DEFAULT_ARCH_LIST
    for arch in ('8.0', '8.6', '9.0'):  # A100, RTX 30xx/A10, H100
        assert arch in default


def _toolkit(root, headers):
    (root / 'bin').mkdir(parents=True)
    (root / 'bin' / 'nvcc').write_text('')
    (root / 'include').mkdir()
    for header in headers:
        (root / 'include' / header).write_text('')
    return str(root)


def test_missing_cuda_headers_come_from_the_nvidia_wheels(tmp_path):
    home = _toolkit(tmp_path / 'cuda', ['cuda_runtime.h'])
    site = tmp_path / 'site-packages'
    wheel_include = site / 'nvidia' / 'cu13' / 'include'
    wheel_include.mkdir(parents=True)
    for header in ('cublas_v2.h', 'cusparse.h'):
        (wheel_include / header).write_text('')
    assert build_mmcv.find_cuda_home({'CUDA_HOME': home}) == home
    assert build_mmcv.extra_cuda_include_dirs(home, [str(site)]) == \
        [str(wheel_include)]
    full = _toolkit(tmp_path / 'full', build_mmcv.CUDA_HEADERS)
    assert build_mmcv.extra_cuda_include_dirs(full, [str(site)]) == []
    with pytest.raises(build_mmcv.BuildError, match='cublas_v2.h'):
        build_mmcv.extra_cuda_include_dirs(home, [str(tmp_path / 'none')])


def test_cache_key_holds_everything_the_binary_depends_on():
    cpu = _plan({})
    assert cpu['cuda_ops'] is False
    keys = {cpu['key']}
    for environ, facts in [
        ({}, dict(torch_version='2.13.0+cpu', torch_cuda=None)),
        ({}, dict(torch_git_version='0123456789ab')),
        ({}, dict(torch_cuda='12.8')),
        ({'MMCV_CXX_STD': 'c++17'}, {}),
    ]:
        keys.add(_plan(environ, **facts)['key'])
    import torch
    cuda_here = bool(build_mmcv.shutil.which('nvcc') and torch.version.cuda)
    if cuda_here:  # a CUDA plan needs the toolkit and torch's CUDA headers
        for arch in ('8.0', '9.0'):
            info = _plan({'MMATTN_CUDA_OPS': '1',
                          'TORCH_CUDA_ARCH_LIST': arch},
                         include_paths=_torch_include_paths())
            assert info['cuda_ops'] and arch in info['key']
            keys.add(info['key'])
    assert len(keys) == (7 if cuda_here else 5)
    assert all('/' not in key for key in keys)


def _torch_include_paths():
    from torch.utils import cpp_extension
    return cpp_extension.include_paths()


def test_patch_changes_only_the_two_standard_flags():
    upstream = '''
        if platform.system() != 'Windows':
            if parse_version(torch.__version__) <= parse_version('1.12.1'):
                extra_compile_args['cxx'] = ['-std=c++14']
            else:
                extra_compile_args['cxx'] = ['-std=c++17']
        if 'nvcc' in extra_compile_args and platform.system() != 'Windows':
            if parse_version(torch.__version__) <= parse_version('1.12.1'):
                extra_compile_args['nvcc'] += ['-std=c++14']
            else:
                extra_compile_args['nvcc'] += ['-std=c++17']
'''
    patched = build_mmcv.patch_setup_py(upstream)
    changed = [(a, b) for a, b in zip(upstream.splitlines(),
                                      patched.splitlines()) if a != b]
    assert len(changed) == 2
    assert all("os.getenv('MMCV_CXX_STD', 'c++17')" in b for _, b in changed)
    for flags in ({}, {'MMCV_CXX_STD': 'c++20'}):  # evaluates as intended
        namespace = dict(os=type('os', (), {'getenv': staticmethod(
            lambda k, d=None: flags.get(k, d))}))
        line = changed[0][1].strip().replace("extra_compile_args['cxx'] = ",
                                             '')
        assert eval(line, namespace) == \
            ['-std=' + flags.get('MMCV_CXX_STD', 'c++17')]
    with pytest.raises(build_mmcv.BuildError, match='expected'):
        build_mmcv.patch_setup_py(patched)  # applied twice: refused


def test_build_info_module_round_trips():
    info = _plan({})
    namespace = {}
    exec(build_mmcv.build_info_source(info), namespace)
    assert namespace['BUILD']['torch_version'] == FACTS['torch_version']
    assert namespace['BUILD']['cuda_ops'] is False


def test_progress_reports_the_last_built_unit(tmp_path, capsys):
    log = tmp_path / 'build.log'
    stop = threading.Event()
    reporter = threading.Thread(target=build_mmcv.report_progress,
                                args=(str(log), stop, 0.05))
    reporter.start()
    stop.wait(0.2)
    log.write_text('[3/77] c++ -c a.cpp\n[4/77] c++ -c b.cpp\n')
    stop.wait(0.2)
    stop.set()
    reporter.join()
    out = capsys.readouterr().out
    assert 'build: no source yet compiled' in out
    assert 'build: [4/77] compiled' in out


@pytest.mark.parametrize('args,message', [
    ([], 'one of the arguments'),
    (['--install', '--out', 'x'], 'not allowed with'),
    (['--out', 'x', '--keep-fitting'], '--keep-fitting goes with --install'),
    (['--out', 'x', '--jobs', '0'], '--jobs: expected a whole number'),
    (['--out', 'x', '--arch-list', 'sm_90'], '--arch-list: expected'),
    (['--out', 'x', '--cpu-ops', '--arch-list', '9.0'], 'goes with CUDA'),
])
def test_bad_arguments_are_named(args, message):
    done = subprocess.run([sys.executable, osp.join(ROOT, 'tools',
                                                    'build_mmcv.py'), *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert message in done.stderr


# ------------------------------------------------------------ check_install
TORCH = dict(version='2.14.1+cu130', git_version='5c48869085840abc',
             cuda='13.0', gpu_visible=False)
CPU_EXT = dict(build=dict(torch_version='2.14.1+cu130',
                          torch_git_version='5c48869085840abc',
                          cuda_ops=False, cxx_std='c++20'),
               compiled_cuda='not available', kernels=[])
CUDA_EXT = dict(CPU_EXT, compiled_cuda='13.0',
                kernels=list(check_install.CUDA_KERNELS))


def test_mmcv_for_this_torch_passes():
    assert check_install.mmcv_build_problems(TORCH, CPU_EXT, {}) == []
    assert check_install.mmcv_build_problems(
        dict(TORCH, gpu_visible=True), CUDA_EXT, {}) == []
    # an mmcv built elsewhere: nothing recorded, nothing refused
    assert check_install.mmcv_build_problems(
        TORCH, dict(CPU_EXT, build=None), {}) == []


def test_mmcv_built_for_another_torch_is_refused():
    other = dict(CPU_EXT, build=dict(CPU_EXT['build'],
                                      torch_version='2.13.0+cpu',
                                      torch_git_version='0123456789ab'))
    [problem] = check_install.mmcv_build_problems(TORCH, other, {})
    assert 'compiled for torch 2.13.0+cpu' in problem
    assert '2.14.1+cu130' in problem and 'build_mmcv.py --install' in problem


@pytest.mark.parametrize('torch_facts,environ', [
    (dict(TORCH, gpu_visible=True), {}),
    (TORCH, {'MMATTN_CUDA_OPS': '1'}),
])
def test_cpu_only_mmcv_beside_a_cuda_torch_that_needs_cuda_is_refused(
        torch_facts, environ):
    [problem] = check_install.mmcv_build_problems(torch_facts, CPU_EXT,
                                                  environ)
    assert 'CPU-only' in problem and 'MMATTN_CUDA_OPS=1' in problem


def test_cuda_mmcv_missing_kernels_or_with_another_cuda_is_refused():
    [problem] = check_install.mmcv_build_problems(
        dict(TORCH, gpu_visible=True), dict(CUDA_EXT, kernels=[]), {})
    assert 'ROIAlignForwardCUDAKernelLauncher' in problem
    [problem] = check_install.mmcv_build_problems(
        TORCH, dict(CUDA_EXT, compiled_cuda='12.1'), {})
    assert 'CUDA 12.1' in problem and 'CUDA 13.0' in problem


def test_check_install_refuses_the_installed_cpu_mmcv_when_cuda_is_asked():
    """The real installed mmcv (CPU ops here, no GPU): accepted as it is,
    refused by check_install.py once CUDA ops are asked for (a CUDA torch),
    naming the cause and the fix."""
    import torch
    ext = check_install.mmcv_ext_facts()
    if torch.version.cuda is None or torch.cuda.is_available() or \
            ext['compiled_cuda'] != 'not available':
        pytest.skip('needs a CUDA torch, no GPU and an mmcv with CPU ops')
    script = osp.join(ROOT, 'tools', 'check_install.py')
    env = dict(os.environ)
    env.pop('MMATTN_CUDA_OPS', None)
    plain = subprocess.run([sys.executable, script], capture_output=True,
                           text=True, timeout=300, env=env)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert 'CPU ops' in plain.stdout
    asked = subprocess.run([sys.executable, script], capture_output=True,
                           text=True, timeout=300,
                           env=dict(env, MMATTN_CUDA_OPS='1'))
    assert asked.returncode == 1
    assert "mmcv's compiled ops are CPU-only" in asked.stdout
    assert 'MMATTN_CUDA_OPS=1 python tools/build_mmcv.py --install' in \
        asked.stdout
