"""Backbone adapters: blocks after named submodules of any backbone; and
the CIFAR ResNets (where mmpretrain is installed)."""
from ...engine import import_mmpretrain
from .insert import (BackboneWithBlocks, InsertedBlocks, insert_blocks,
                     remove_modules)

__all__ = [
    'BackboneWithBlocks', 'InsertedBlocks', 'insert_blocks', 'remove_modules'
]

if import_mmpretrain() is not None:
    from .resnet_cifar import CIFARResNet  # noqa: F401
    __all__.append('CIFARResNet')
