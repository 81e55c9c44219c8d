"""A hook that writes attention pictures for a few validation images."""
from mmengine.hooks import Hook

from ...registry import HOOKS


@HOOKS.register_module()
class AttentionVisualizationHook(Hook):
    """Draw what the model's attention modules attend to on the first
    ``num_images`` validation batches (their first image), every
    ``interval``-th validation, through the runner's visualizer (its local,
    TensorBoard, ... backends: ``vis_data/vis_image/`` for the local one).

    The pictures are those of ``tools/analysis_tools/visualize_attention.py``
    (:mod:`mmattn.visualization`); the inputs are recorded by forward hooks
    during the validation forward itself, so nothing is computed twice and
    the model is not changed.

    Args:
        num_images (int): validation batches to draw. Defaults to 2.
        interval (int): draw at every ``interval``-th validation. Defaults
            to 1.
        points (list[tuple[int, int]], optional): query points (x, y) in
            pixels of the network input; default the 4 most salient.
        modules (list[str], optional): module names to draw (fnmatch
            patterns); default every drawable one.

    Use: ``custom_hooks = [dict(type='mmattn.AttentionVisualizationHook',
    num_images=2)]``.
    """

    priority = 'LOW'

    def __init__(self, num_images=2, interval=1, points=None, modules=None):
        from ...checks import check_positive_int
        check_positive_int('num_images', num_images)
        check_positive_int('interval', interval)
        self.num_images = num_images
        self.interval = interval
        self.points = [tuple(p) for p in points] if points else None
        self.modules = modules
        self._validations = 0
        self._recorder = None

    def before_val_epoch(self, runner):
        self._validations += 1

    def _active(self, batch_idx):
        return (batch_idx < self.num_images
                and (self._validations - 1) % self.interval == 0)

    def before_val_iter(self, runner, batch_idx, data_batch=None):
        if not self._active(batch_idx):
            return
        from mmengine.model import is_model_wrapper
        from ...visualization import AttentionRecorder
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        self._recorder = AttentionRecorder(model, self.modules).__enter__()

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None):
        if self._recorder is None:
            return
        recorder, self._recorder = self._recorder, None
        recorder.__exit__(None, None, None)
        from ...visualization import panels_for, render_module
        image = data_batch['inputs'][0]  # (3, H, W) uint8, BGR
        rgb = image.flip(0).permute(1, 2, 0).cpu().numpy()
        size = tuple(rgb.shape[:2])
        for name, (module, calls) in recorder.calls.items():
            try:
                # (the pictures are of the first image of the batch)
                panels = panels_for(module, calls, self.points, size)
            except NotImplementedError:
                continue
            picture = render_module(f'{name} ({type(module).__name__})',
                                    panels, rgb)
            runner.visualizer.add_image(
                f'attention_{name}_val{batch_idx}', picture,
                step=runner.iter)
