"""Import packages that import torchvision where no torchvision is installed.

mmpretrain 1.2.0 imports torchvision when its package is imported (for its
torchvision transform wrappers, PIL conversion and the box IoU of its
multimodal metrics), and so does timm (data pipeline, ``FrozenBatchNorm2d``).
Neither the classification models nor the numpy pipelines mmattn's configs
use need it. Where torch has no matching torchvision (a CPU torch 2.13 has
none on PyPI, and a torchvision whose compiled ops do not match torch fails
at import), :func:`torchvision_standin` imports such a package with stand-in
``torchvision`` modules, which are removed from ``sys.modules`` afterwards:
nothing imported later sees them, and ``import torchvision`` still fails.

Every attribute of a stand-in module is a placeholder class. Attribute
access, subclassing and use as a dict key work (that is all these packages
do at import time); calling one raises :class:`TorchvisionMissing`, naming
what was called. Where torchvision is installed, nothing is replaced.
"""
import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

__all__ = ['TorchvisionMissing', 'torchvision_standin', 'import_mmpretrain']


class TorchvisionMissing(ModuleNotFoundError):
    """A torchvision function was called where torchvision is not
    installed."""


def _is_torchvision(name):
    return name == 'torchvision' or name.startswith('torchvision.')


class _Placeholder(type):
    """A torchvision attribute: its own attributes are placeholders too;
    calling it (or instantiating a subclass of it) raises."""

    def __getattr__(cls, attr):
        if attr.startswith('__'):
            raise AttributeError(attr)
        found = _Placeholder(f'{cls.__qualname__}.{attr}', (), {})
        setattr(cls, attr, found)  # the same object on every access
        return found

    def __call__(cls, *args, **kwargs):
        raise TorchvisionMissing(
            f'{cls.__qualname__} needs torchvision, which is not installed '
            '(its importer was loaded with a stand-in by '
            'mmattn.engine.torchvision_standin). Install the torchvision '
            'that matches your torch to use it.', name='torchvision')


class _StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):

    def find_spec(self, name, path, target=None):
        if _is_torchvision(name):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []
        module.__version__ = '0.0'

        def placeholder(attr):
            if attr.startswith('__'):
                raise AttributeError(attr)
            found = _Placeholder(f'{spec.name}.{attr}', (), {})
            setattr(module, attr, found)  # the same object on every access
            return found
        module.__getattr__ = placeholder
        return module

    def exec_module(self, module):
        pass


def torchvision_installed():
    """Whether a torchvision can be found: a real one (it may still fail to
    import; :func:`torchvision_standin` then leaves that error alone), or
    the stand-in of an enclosing :func:`torchvision_standin` block. An
    import hook that refuses torchvision (raises ModuleNotFoundError while
    looking for it) counts as none."""
    try:
        return importlib.util.find_spec('torchvision') is not None
    except ModuleNotFoundError:
        return False


@contextlib.contextmanager
def torchvision_standin():
    """Within the block, ``import torchvision[...]`` gives stand-in modules
    if torchvision is not installed; afterwards they leave ``sys.modules``
    (modules imported in the block keep their references). Does nothing
    where torchvision is installed."""
    if torchvision_installed():
        yield
        return
    finder = _StandInFinder()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if _is_torchvision(n)]:
            del sys.modules[name]


def import_mmpretrain():
    """Import mmpretrain and register its modules in its registries (what
    mmengine does on first use of the ``mmpretrain`` scope), through
    :func:`torchvision_standin`; later imports of it find it loaded.
    Returns the package, or None where mmpretrain is not installed.

    An earlier import that failed for want of torchvision (mmdet tries
    ``import mmpretrain`` for its ReID models and carries on without it)
    leaves the modules that did load in ``sys.modules``; those are kept (they
    registered their classes) and the rest are imported now."""
    if 'mmpretrain.models' in sys.modules and \
            'mmpretrain.evaluation' in sys.modules:
        return sys.modules['mmpretrain']
    if importlib.util.find_spec('mmpretrain') is None:
        return None
    with torchvision_standin():
        mmpretrain = importlib.import_module('mmpretrain')
        from mmpretrain.utils import register_all_modules
        register_all_modules(init_default_scope=False)
    return mmpretrain
