"""The input check every mmattn decode head shares."""
from ...checks import check_input


class CheckedInputsMixin:
    """Checks a decode head's multi-level ``inputs`` before mmseg's
    ``_transform_inputs`` selects from them: a non-empty list or tuple of
    floating-point ``(N, C, H, W)`` tensors of the head's dtype, with the
    levels ``in_index`` selects present and of ``in_channels`` channels
    (their sum for ``input_transform='resize_concat'``), and one batch size.
    Errors name ``inputs`` and the level (``inputs[3]``), instead of a
    convolution's shape error deep inside torch.

    Put it first among the bases: ``class XHead(CheckedInputsMixin,
    BaseDecodeHead)``.
    """

    def _transform_inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)) or not inputs:
            raise TypeError(
                'inputs must be a non-empty list of (N, C, H, W) tensors, '
                f'one per backbone level, got {type(inputs).__name__}'
                + (' (empty)' if isinstance(inputs, (list, tuple)) else ''))
        indices = (list(self.in_index) if isinstance(
            self.in_index, (list, tuple)) else [self.in_index])
        for index in indices:
            if not -len(inputs) <= index < len(inputs):
                raise ValueError(
                    f'inputs has {len(inputs)} levels, but in_index '
                    f'{self.in_index} selects level {index}')
        if self.input_transform == 'resize_concat':
            for index in indices:
                check_input(inputs[index], inputs[index].size(1)
                            if inputs[index].dim() == 4 else -1,
                            f'inputs[{index}]', module=self)
            total = sum(inputs[index].size(1) for index in indices)
            if total != self.in_channels:
                raise ValueError(
                    f'inputs at in_index {self.in_index} have {total} '
                    f'channels together, the head was built for '
                    f'in_channels={self.in_channels}')
        else:
            widths = (self.in_channels if isinstance(self.in_channels,
                                                     (list, tuple)) else
                      [self.in_channels])
            for index, width in zip(indices, widths):
                check_input(inputs[index], width, f'inputs[{index}]',
                            module=self)
        batches = {inputs[index].size(0) for index in indices}
        if len(batches) > 1:
            raise ValueError(
                f'inputs at in_index {self.in_index} have different batch '
                f'sizes {sorted(batches)}')
        return super()._transform_inputs(inputs)
