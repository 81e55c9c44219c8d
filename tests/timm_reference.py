"""timm's attention layers as references, where timm can be imported.

timm (installed with ``--no-deps`` by tools/install.sh) imports torchvision
at package import, for its data pipeline and ``FrozenBatchNorm2d`` only;
torchvision is not installed here (a torchvision whose compiled ops do not
match torch breaks mmengine). :func:`timm_layers` imports ``timm.layers``
with a stand-in ``torchvision`` that exists only during that import: every
attribute of it is an inert placeholder class, and it is removed from
``sys.modules`` afterwards, so nothing else in the process sees it. The
attention layers compared against use torch only.
"""
import importlib
import importlib.abc
import importlib.machinery
import sys
import types

import pytest


class _Placeholder(type):
    """Any torchvision attribute timm touches at import time."""

    def __getattr__(cls, attr):
        if attr.startswith('__'):
            raise AttributeError(attr)
        return _Placeholder(attr, (), {})

    def __call__(cls, *args, **kwargs):
        return _Placeholder(cls.__name__ + '()', (), {})


class _StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):

    def find_spec(self, name, path, target=None):
        if name == 'torchvision' or name.startswith('torchvision.'):
            return importlib.machinery.ModuleSpec(name, self,
                                                  is_package=True)
        return None

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []
        module.__version__ = '0.0'

        def placeholder(attr):
            if attr.startswith('__'):
                raise AttributeError(attr)
            return _Placeholder(attr, (), {})
        module.__getattr__ = placeholder
        return module

    def exec_module(self, module):
        pass


def timm_layers():
    """``timm.layers``, or a pytest skip when timm is not installed."""
    if 'timm.layers' in sys.modules:
        return sys.modules['timm.layers']
    if importlib.util.find_spec('timm') is None:
        pytest.skip('timm is not installed (tools/install.sh installs it)')
    finder = _StandInFinder()
    sys.meta_path.insert(0, finder)
    try:
        return importlib.import_module('timm.layers')
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules
                     if n == 'torchvision' or n.startswith('torchvision.')]:
            del sys.modules[name]


def timm_module(path, name):
    """``timm.layers.<path>.<name>``: not every layer is exported by
    ``timm.layers``."""
    timm_layers()  # imports timm with the stand-in torchvision
    module = importlib.import_module(f'timm.layers.{path}')
    return getattr(module, name)


def assert_same_as_timm(ours, theirs, shape=(2, 32, 9, 7), convert=True,
                        tol=dict(rtol=1e-5, atol=1e-6)):
    """Randomise timm's module ``theirs`` (every parameter and BN buffer),
    load its state strictly into ``ours`` (through
    ``convert_timm_state_dict`` with ``convert``), and compare the two in
    eval mode on a random input of ``shape``. Returns timm's output."""
    import torch
    from mmattn.testing import randomise
    torch.manual_seed(0)
    randomise(theirs)
    state = theirs.state_dict()
    if convert:
        state = type(ours).convert_timm_state_dict(state)
    ours.load_state_dict(state, strict=True)
    ours.eval()
    theirs.eval()
    x = torch.randn(*shape)
    with torch.no_grad():
        expected = theirs(x)
        torch.testing.assert_close(ours(x), expected, **tol)
    return expected
