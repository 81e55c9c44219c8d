"""mmengine's checkpoint hook, writing atomically."""
from mmengine.hooks import CheckpointHook

from ...registry import HOOKS
from ..checkpoint.atomic import ATOMIC_BACKEND


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` writing its checkpoints atomically.

    Its arguments are ``CheckpointHook``'s. Where neither ``backend_args``
    nor ``file_client_args`` is given and ``out_dir`` is local, the
    checkpoints go through :class:`AtomicLocalBackend`; a remote
    ``out_dir`` or an explicit backend is used as given. Select it in a
    config with ``default_hooks.checkpoint.type='mmattn.AtomicCheckpointHook'``
    and resume with :func:`find_resumable_checkpoint` (``tools/train.py
    --resume`` does).
    """

    def __init__(self, interval=-1, **kwargs):
        out_dir = kwargs.get('out_dir')
        if (kwargs.get('backend_args') is None
                and kwargs.get('file_client_args') is None
                and (out_dir is None or '://' not in str(out_dir))):
            kwargs['backend_args'] = dict(backend=ATOMIC_BACKEND)
        super().__init__(interval, **kwargs)
