"""Backbone adapters: blocks after named submodules of any backbone; the
CIFAR ResNets (built on mmpretrain, imported when one is built); and timm's
attention ResNets as OpenMMLab ResNets with mmattn blocks (key maps, no
timm import)."""
from ...registry import MODELS
from .insert import (BackboneWithBlocks, InsertedBlocks, insert_blocks,
                     remove_modules)
from .timm_resnets import (TIMM_RESNETS, UNMAPPED, convert_timm_resnet,
                           timm_backbone_cfg)

__all__ = [
    'BackboneWithBlocks', 'InsertedBlocks', 'insert_blocks', 'remove_modules',
    'CIFARResNet', 'TIMM_RESNETS', 'UNMAPPED', 'convert_timm_resnet',
    'timm_backbone_cfg'
]


@MODELS.register_module(name='CIFARResNet')
def CIFARResNet(*args, **kwargs):  # noqa: N802  (the registered type name)
    """Build :class:`mmattn.models.backbones.resnet_cifar.CIFARResNet`
    (see there for the arguments).

    Registered as a function so that ``import mmattn`` does not import
    mmpretrain: it is imported on the first build (through
    :func:`mmattn.engine.import_mmpretrain`, which serves its torchvision
    imports with a stand-in where torchvision is not installed).
    """
    from ...engine import import_mmpretrain
    if import_mmpretrain() is None:
        raise ModuleNotFoundError(
            'mmattn.CIFARResNet is built on mmpretrain, which is not '
            'installed: pip install mmpretrain', name='mmpretrain')
    from .resnet_cifar import CIFARResNet as cls
    return cls(*args, **kwargs)
