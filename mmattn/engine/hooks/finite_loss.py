"""Stop a training run at its first non-finite loss, saying where."""
import math

from mmengine.hooks import Hook

from ...registry import HOOKS


def _non_finite_terms(outputs):
    """Name -> value of every loss term in a train step's outputs that is
    NaN or infinite (tensors and numbers; other entries are skipped)."""
    bad = {}
    for name, value in (outputs or {}).items():
        if hasattr(value, 'detach'):
            if value.numel() != 1:
                continue
            value = float(value.detach())
        if isinstance(value, (int, float)) and not math.isfinite(value):
            bad[name] = value
    return bad


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Raise ``FloatingPointError`` at the first training iteration whose
    loss (or any logged loss term) is NaN or infinite, naming the iteration
    and the terms.

    The hook runs before mmengine's ``CheckpointHook`` of the same
    iteration (priority ``ABOVE_NORMAL`` against its ``VERY_LOW``), so no
    checkpoint of the diverged weights is written: the newest checkpoint in
    the work dir is the last good one, and ``tools/train.py --resume``
    continues from it. ``tools/train.py`` adds this hook to every config
    that does not have it (``--allow-nonfinite-loss`` turns that off).
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        bad = _non_finite_terms(outputs)
        if not bad:
            return
        terms = ', '.join(f'{name} = {value}' for name, value in bad.items())
        raise FloatingPointError(
            f'training stopped at iteration {runner.iter + 1}: non-finite '
            f'loss ({terms}). No checkpoint of this iteration was written: '
            f'the newest checkpoint in {runner.work_dir} is the last good '
            f'one (resume with tools/train.py --resume, e.g. with a lower '
            f'learning rate, or inspect the data of this iteration).')
