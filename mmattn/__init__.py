"""mmattn: attention mechanisms of computer vision for MMSegmentation,
MMDetection and MMPretrain.

``custom_imports=dict(imports=['mmattn'], allow_failed_imports=False)`` in a
config imports this package, which registers every mmattn module under the
scope ``mmattn`` (reach them as ``type='mmattn.<ClassName>'``) and changes
nothing else in the process: no attribute of mmengine, mmcv, mmseg, mmdet,
mmpretrain or torch is assigned, no import hook is installed, and mmpretrain
is imported only when an mmattn module that needs it is built.

The safeguards mmattn's own tools run with (checkpoints that load under
``weights_only`` and are written atomically, bad data named) are opt-in:
selected by type in a config, or all at once with :mod:`mmattn.runtime`.
"""
from .version import __version__, check_torch_version
import torch as _torch

check_torch_version(_torch.__version__)  # before anything needs a newer one

from . import models  # noqa: E402,F401  (registers the model modules)
from . import engine  # noqa: E402,F401  (hooks, wrappers, file backend)
from .datasets import checked_loading  # noqa: E402,F401  (transforms)

__all__ = ['__version__']
