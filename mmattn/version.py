"""The one place the mmattn version is written."""
__version__ = '0.1.0'
