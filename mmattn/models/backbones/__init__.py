"""Backbone adapters: blocks after named submodules of any backbone."""
from .insert import BackboneWithBlocks, InsertedBlocks, insert_blocks

__all__ = ['BackboneWithBlocks', 'InsertedBlocks', 'insert_blocks']
