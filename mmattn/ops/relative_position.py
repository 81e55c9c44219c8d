"""Two-dimensional relative position logits (BoTNet, HaloNet).

The relative-position attention of "Attention Augmented Convolutional
Networks" (Bello et al., ICCV 2019) as the BoTNet and HaloNet authors use
it: one learned vector per row offset and one per column offset; the logit
of a query at (y, x) for a key at (y', x') adds q . r_h[y' - y] and
q . r_w[x' - x] to q . k. Written as a gather of the tables by an index
matrix and two einsums, not the authors' pad-and-reshape "skewing" trick:
the index is built from the map's own size, so one layer serves any size up
to its table (and exports to ONNX with a dynamic size).
"""
import torch

__all__ = ['relative_index', 'relative_position_logits',
           'relative_position_terms']


def relative_index(num_queries, num_keys, offset, device=None):
    """``index[i, j] = j - i + offset``: the table row of query i and key j.

    Args:
        num_queries (int): queries along the axis.
        num_keys (int): keys along the axis.
        offset (int): the row of a key at the query's own position.
        device (torch.device, optional): of the result.

    Returns:
        Tensor: (num_queries, num_keys), int64.
    """
    queries = torch.arange(num_queries, device=device)
    keys = torch.arange(num_keys, device=device)
    return keys[None, :] - queries[:, None] + offset


def relative_position_terms(q, height_table, width_table, height_index,
                            width_index):
    """The row and the column terms of :func:`relative_position_logits`,
    unsummed: (..., Hq, Wq, Hk) ``q . height_table[height_index[y, y']]``
    and (..., Hq, Wq, Wk) ``q . width_table[width_index[x, x']]`` (BoT
    carries them as extra query columns instead of adding them up). The
    arguments are :func:`relative_position_logits`'s."""
    rows = torch.einsum('...yxd,ykd->...yxk', q, height_table[height_index])
    cols = torch.einsum('...yxd,xld->...yxl', q, width_table[width_index])
    return rows, cols


def relative_position_logits(q, height_table, width_table, height_index,
                             width_index):
    """Relative logits of queries on a grid against keys on a grid.

    Args:
        q (Tensor): (..., Hq, Wq, d) queries.
        height_table (Tensor): (R_h, d) one vector per row offset.
        width_table (Tensor): (R_w, d) one vector per column offset.
        height_index (Tensor): (Hq, Hk) rows of ``height_table`` (see
            :func:`relative_index`).
        width_index (Tensor): (Wq, Wk) rows of ``width_table``.

    Returns:
        Tensor: (..., Hq, Wq, Hk, Wk), ``q . height_table[height_index[y,
        y']] + q . width_table[width_index[x, x']]``.
    """
    rows, cols = relative_position_terms(q, height_table, width_table,
                                         height_index, width_index)
    return rows.unsqueeze(-1) + cols.unsqueeze(-2)
