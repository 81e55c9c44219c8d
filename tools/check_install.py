"""Check that the pinned stack is installed and works; exit 1 if not.

Used by tools/install.sh to recognise a warm environment, and useful by hand:
``python tools/check_install.py`` prints what is installed.

mmcv's compiled ops are checked against the installed torch: an mmcv built by
tools/build_mmcv.py records the torch it was compiled for, and a different
torch is refused; a CUDA torch that sees a GPU (or with ``MMATTN_CUDA_OPS=1``)
refuses an mmcv whose ops are CPU-only. Each refusal names the cause and the
command that fixes it.
"""
import argparse
import os
import os.path as osp
import sys
import warnings
from importlib import metadata

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DISTRIBUTIONS = ('mmengine', 'mmcv', 'mmsegmentation', 'mmdet', 'mmpretrain')


def read_pins():
    pins = {}
    with open(osp.join(ROOT, 'requirements', 'stack.txt')) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if '==' in line:
                name, version = line.split('==')
                pins[name.strip()] = version.strip()
    return pins


REBUILD = 'python tools/build_mmcv.py --install (or make install)'


def torch_facts():
    import torch
    return dict(version=torch.__version__,
                git_version=torch.version.git_version,
                cuda=torch.version.cuda,
                gpu_visible=torch.cuda.is_available())


def mmcv_ext_facts():
    """What the installed mmcv's compiled ops were built for and hold."""
    import mmcv._ext
    try:
        from mmcv import _mmattn_build
        build = _mmattn_build.BUILD
    except ImportError:  # built elsewhere (an OpenMMLab wheel, by hand)
        build = None
    with open(mmcv._ext.__file__, 'rb') as f:
        binary = f.read()
    return dict(build=build,
                compiled_cuda=mmcv._ext.get_compiling_cuda_version(),
                kernels=[k for k in CUDA_KERNELS if k.encode() in binary])


# Kernel launchers of the compiled ops mmattn's configs use on the GPU:
# RoIAlign (two-stage detectors), NMS (every detector), sigmoid focal loss
# (RetinaNet). mmcv 2.1.0's CrissCrossAttention is plain torch (einsum): no
# kernel of its own.
CUDA_KERNELS = ('ROIAlignForwardCUDAKernelLauncher', 'NMSCUDAKernelLauncher',
                'SigmoidFocalLossForwardCUDAKernelLauncher')


def mmcv_build_problems(torch_facts, ext, environ):
    """What is wrong with mmcv's compiled ops for this torch (a list of
    messages, each with its cause and fix)."""
    found = []
    build = ext['build']
    if build is not None and (
            build['torch_version'] != torch_facts['version'] or
            build['torch_git_version'] != torch_facts['git_version']):
        found.append(
            f"mmcv's ops were compiled for torch {build['torch_version']} "
            f"(commit {str(build['torch_git_version'])[:12]}), but torch "
            f"{torch_facts['version']} (commit "
            f"{str(torch_facts['git_version'])[:12]}) is installed: they "
            f'may crash or compute wrongly; rebuild: {REBUILD}')
    has_cuda = ext['compiled_cuda'] != 'not available'
    asked = environ.get('MMATTN_CUDA_OPS') == '1'
    if torch_facts['cuda'] and (torch_facts['gpu_visible'] or asked):
        why = ('this torch sees a GPU' if torch_facts['gpu_visible'] else
               'MMATTN_CUDA_OPS=1 asks for them')
        if not has_cuda:
            found.append(
                "mmcv's compiled ops are CPU-only, but torch "
                f"{torch_facts['version']} is a CUDA build and {why}: "
                'RoIAlign, NMS and the other ops would fail on the first '
                f'CUDA tensor; rebuild with CUDA ops: MMATTN_CUDA_OPS=1 '
                f'{REBUILD}')
        elif len(ext['kernels']) < len(CUDA_KERNELS):
            missing = sorted(set(CUDA_KERNELS) - set(ext['kernels']))
            found.append(f"mmcv's compiled ops lack the CUDA kernels "
                         f"{', '.join(missing)}; rebuild: MMATTN_CUDA_OPS=1 "
                         f'{REBUILD}')
    if has_cuda and torch_facts['cuda'] and \
            ext['compiled_cuda'].split('.')[0] != \
            torch_facts['cuda'].split('.')[0]:
        found.append(f"mmcv's ops were compiled with CUDA "
                     f"{ext['compiled_cuda']}, torch uses CUDA "
                     f"{torch_facts['cuda']}; rebuild: MMATTN_CUDA_OPS=1 "
                     f'{REBUILD}')
    return found


def describe_mmcv():
    ext = mmcv_ext_facts()
    if ext['compiled_cuda'] == 'not available':
        ops = 'CPU ops'
    else:
        ops = f"CUDA ops (CUDA {ext['compiled_cuda']}"
        if ext['build'] and ext['build'].get('cuda_arch_list'):
            ops += f", architectures {ext['build']['cuda_arch_list']}"
        ops += ')'
    origin = ('built by tools/build_mmcv.py with -std=' +
              ext['build']['cxx_std'] if ext['build'] else
              'built elsewhere: its torch is not recorded')
    return f'{ops}, {origin}'


def problems():
    found = []
    pins = read_pins()
    for name in DISTRIBUTIONS:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            found.append(f'{name} is not installed')
            continue
        if version != pins[name]:
            found.append(f'{name} {version} installed, {pins[name]} pinned')
    try:
        import torch  # noqa: F401
    except ImportError as err:
        found.append(f'torch does not import: {err}')
    try:  # mmattn never installs it; a mismatched build breaks mmengine
        import torchvision  # noqa: F401
    except ModuleNotFoundError:
        pass
    except Exception as err:
        found.append('torchvision is installed but does not import '
                     f'({err!r}); uninstall it or install the build that '
                     'matches torch')
    try:
        import mmcv._ext  # noqa: F401
    except ImportError as err:
        found.append(f'mmcv has no compiled ops (or they do not load: '
                     f'built for another torch?): {err}; rebuild: {REBUILD}')
    else:
        found += mmcv_build_problems(torch_facts(), mmcv_ext_facts(),
                                     os.environ)
    try:
        import mmattn
        if not osp.abspath(mmattn.__file__).startswith(ROOT + osp.sep):
            found.append(f'mmattn imports from {mmattn.__file__}, '
                         f'not from {ROOT}')
        if 'mmpretrain.models' not in sys.modules:  # imported by mmattn
            found.append('mmpretrain was not imported by mmattn')
    except Exception as err:  # any import failure means "not installed"
        found.append(f'mmattn does not import: {err!r}')
    for name in ('pytest', 'pytest_timeout', 'hypothesis', 'psutil', 'onnx',
                 'onnxruntime', 'onnxscript', 'pycocotools', 'cv2',
                 'pkg_resources'):  # mmengine resolves 'mmseg::' with it
        try:
            with warnings.catch_warnings():  # pkg_resources warns on import
                warnings.simplefilter('ignore')
                __import__(name)
        except Exception as err:
            found.append(f'{name} does not import: {err!r}')
    import importlib.util
    if importlib.util.find_spec('timm') is None:  # imported by tests only
        found.append('timm is not installed (requirements/tests-no-deps.txt)')
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--quiet', action='store_true')
    args = parser.parse_args()
    found = problems()
    if not args.quiet:
        for line in found:
            print('missing:', line)
        if not found:
            import mmcv
            import torch
            print(f'ok: torch {torch.__version__}, mmcv {mmcv.__version__} '
                  f'with {describe_mmcv()}, ' + ', '.join(
                      f'{n} {metadata.version(n)}' for n in DISTRIBUTIONS
                      if n != 'mmcv'))
    sys.exit(1 if found else 0)


if __name__ == '__main__':
    main()
