"""Registered adapters: plugins, decode heads and necks built from blocks.

Importing this package registers them in :data:`mmattn.registry.MODELS`.
"""
from . import decode_heads, necks, plugins  # noqa: F401
