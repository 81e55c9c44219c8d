"""Pictures of what mmattn's attention modules attend to.

``AttentionRecorder`` hooks the drawable modules of any model and records
their inputs during a forward; ``panels_for`` turns one module's recorded
calls into panels (attention of query points, selected positions,
affinities, gates); ``draw_module`` draws them over the image. The
command-line tool is ``tools/analysis_tools/visualize_attention.py``.
"""
from .attention_maps import PICTURES, Panel, panels_for
from .draw import draw_module, draw_panel, render_module
from .recorder import AttentionRecorder

__all__ = ['AttentionRecorder', 'PICTURES', 'Panel', 'draw_module',
           'draw_panel', 'panels_for', 'render_module']
