"""Registered adapters: plugins, backbones, decode heads and necks.

Importing this package registers them in :data:`mmattn.registry.MODELS`.
"""
from . import backbones, decode_heads, necks, plugins  # noqa: F401
