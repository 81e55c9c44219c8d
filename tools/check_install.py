"""Check that the pinned stack is installed and works; exit 1 if not.

Used by tools/install.sh to recognise a warm environment, and useful by hand:
``python tools/check_install.py`` prints what is installed.
"""
import argparse
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
        found.append(f'mmcv has no compiled ops: {err}')
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
                  'with compiled ops, ' + ', '.join(
                      f'{n} {metadata.version(n)}' for n in DISTRIBUTIONS
                      if n != 'mmcv'))
    sys.exit(1 if found else 0)


if __name__ == '__main__':
    main()
