"""mmattn: attention mechanisms of computer vision for MMSegmentation,
MMDetection and MMPretrain.

``custom_imports=dict(imports=['mmattn'], allow_failed_imports=False)`` in a
config imports this package, which registers every mmattn module under the
scope ``mmattn`` (reach them as ``type='mmattn.<ClassName>'``) and makes
mmengine's checkpoint loading work under ``torch.load(weights_only=True)``
and its checkpoint writing atomic (see :mod:`mmattn.engine.atomic_checkpoint`),
and makes bad data files fail with an error naming them
(:mod:`mmattn.engine.data_checks`).
"""
from .version import __version__, check_torch_version
import torch as _torch

check_torch_version(_torch.__version__)  # before anything needs a newer one
from .engine import (import_mmpretrain, install_atomic_checkpoints,
                     install_checkpoint_safety, install_data_checks)

install_checkpoint_safety()
install_atomic_checkpoints()
# Where mmpretrain is installed, import it now: where torchvision is not, a
# stand-in serves its import (see mmattn.engine.torchvision_standin). Before
# the models: mmdet imports mmpretrain for its ReID models, and mmengine
# would import it on first use of the 'mmpretrain' scope.
import_mmpretrain()

from . import models  # noqa: E402,F401  (registers every module)

install_data_checks()  # after models: mmseg and mmdet are imported by then

__all__ = ['__version__']
