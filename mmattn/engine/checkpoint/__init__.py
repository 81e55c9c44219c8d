"""Checkpoints that are complete or absent (:mod:`.atomic`), and that load
under torch's ``weights_only`` with mmengine's own types admitted
(:mod:`.safe_load`, applied by :mod:`mmattn.runtime`)."""
from .atomic import (ATOMIC_BACKEND, AtomicLocalBackend,
                     IncompleteCheckpointError, atomic_write,
                     check_checkpoint_file, checkpoint_problem,
                     find_resumable_checkpoint)
from .safe_load import SAFE_GLOBALS, UnsafeCheckpointError

__all__ = [
    'ATOMIC_BACKEND', 'AtomicLocalBackend', 'IncompleteCheckpointError',
    'atomic_write', 'check_checkpoint_file', 'checkpoint_problem',
    'find_resumable_checkpoint', 'SAFE_GLOBALS', 'UnsafeCheckpointError'
]
