"""The long-range benchmark: its recipe (data, models, training and
evaluation, :mod:`.recipe`) and its tables and pictures (:mod:`.report`).

An experiment built on mmattn, not part of the library: the tools in
``projects/long_range/tools/`` put ``projects/long_range`` on ``sys.path``
and import it as ``long_range``.
"""
