"""Deployment of mmattn models: whole-model ONNX export and its check.

``export`` builds a config's model through the OpenMMLab inference APIs and
exports it (segmentors whole, detectors' backbone and neck); ``verify``
compares a file with PyTorch in onnxruntime. The command-line tools are
``tools/deployment/export_onnx.py`` and ``tools/deployment/onnx_inference.py``.
"""
from .export import (DetectorFeaturesForExport, SegmentorForExport,
                     export_config, export_onnx, load_model, metadata,
                     task_of, wrapper_for)
from .verify import (RELATIVE_TOLERANCE, compare, session_for, time_both,
                     verify)

__all__ = [
    'DetectorFeaturesForExport', 'RELATIVE_TOLERANCE', 'SegmentorForExport',
    'compare', 'export_config', 'export_onnx', 'load_model', 'metadata',
    'session_for', 'task_of', 'time_both', 'verify', 'wrapper_for'
]
