"""timm's attention layers as references, where timm can be imported.

timm (installed with ``--no-deps`` by tools/install.sh) imports torchvision
at package import, for its data pipeline and ``FrozenBatchNorm2d`` only;
torchvision is not installed here (a torchvision whose compiled ops do not
match torch breaks mmengine). :func:`timm_layers` imports ``timm.layers``
through :func:`mmattn.engine.torchvision_standin`, whose stand-in exists
only during that import. The attention layers compared against use torch
only.
"""
import importlib
import sys

import pytest

from mmattn.engine import torchvision_standin


def timm_layers():
    """``timm.layers``, or a pytest skip when timm is not installed."""
    if 'timm.layers' in sys.modules:
        return sys.modules['timm.layers']
    if importlib.util.find_spec('timm') is None:
        pytest.skip('timm is not installed (tools/install.sh installs it)')
    with torchvision_standin():
        return importlib.import_module('timm.layers')


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


def timm_package():
    """``timm`` itself (its models too), or a pytest skip when timm is not
    installed."""
    timm_layers()  # imports timm with the stand-in torchvision if needed
    return sys.modules['timm']
