"""Backbone adapters: blocks after named submodules of any backbone."""
from .insert import (BackboneWithBlocks, InsertedBlocks, insert_blocks,
                     remove_modules)

__all__ = [
    'BackboneWithBlocks', 'InsertedBlocks', 'insert_blocks', 'remove_modules'
]
