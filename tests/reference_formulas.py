"""Layers written out as formulas, for the blocks' reference tests.

Each function computes what a layer of a block computes, from that layer's
parameters and plain tensor arithmetic (no call of the layer itself), so a
reference built from them checks the block independently of its code.
"""
import math

import torch
import torch.nn.functional as F


def batch_norm(bn, y):
    """BatchNorm over every dim but 1: batch statistics in training, the
    running ones in eval."""
    dims = [d for d in range(y.dim()) if d != 1]
    shape = [1, -1] + [1] * (y.dim() - 2)
    if bn.training:
        mean = y.mean(dim=dims, keepdim=True)
        var = y.var(dim=dims, unbiased=False, keepdim=True)
    else:
        mean, var = bn.running_mean.view(shape), bn.running_var.view(shape)
    return ((y - mean) / torch.sqrt(var + bn.eps) * bn.weight.view(shape)
            + bn.bias.view(shape))


def linear_of(conv):
    """A 1x1 conv's weight and bias as a Linear's (out, in) and (out,)."""
    return conv.weight.flatten(1), conv.bias


def pointwise(conv, y):
    """A 1x1 conv as a sum over input channels (y: (N, C, ...))."""
    out = torch.einsum('oc,nc...->no...', conv.weight.flatten(1), y)
    if conv.bias is not None:
        out = out + conv.bias.view([1, -1] + [1] * (y.dim() - 2))
    return out


def conv_module(module, y, **conv_kwargs):
    """An mmcv ``ConvModule`` (conv, BN, optional ReLU) written out; the conv
    by ``F.conv2d`` with ``conv_kwargs`` (padding, dilation, groups), or as
    :func:`pointwise` when there are none and the kernel is 1x1."""
    conv = module.conv
    if not conv_kwargs and conv.weight.shape[2:] == (1, 1):
        y = pointwise(conv, y)
    else:
        y = F.conv2d(y, conv.weight, conv.bias, **conv_kwargs)
    y = batch_norm(module.norm, y)
    return F.relu(y) if module.with_activation else y


def softmax(logits, dim):
    """exp(x - max) / sum exp(x - max) along ``dim``."""
    e = torch.exp(logits - logits.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)


def bin_mean(x, i, j, rows, cols):
    """Mean of bin (i, j) of adaptive average pooling to a rows x cols grid:
    rows floor(i H / rows) .. ceil((i + 1) H / rows) - 1, the same for
    columns."""
    h, w = x.shape[2:]
    r0, r1 = (i * h) // rows, math.ceil((i + 1) * h / rows)
    c0, c1 = (j * w) // cols, math.ceil((j + 1) * w / cols)
    return x[:, :, r0:r1, c0:c1].mean(dim=(2, 3))


def channel_mlp(mlp, v):
    """``fc2(relu(fc1(v)))`` of a block's 1x1-conv MLP (``mlp.fc1``,
    ``mlp.fc2``) on an (N, C, h, w) map, as Linear layers over channels."""
    v = v.permute(0, 2, 3, 1)  # channels last
    v = F.linear(F.relu(F.linear(v, *linear_of(mlp.fc1))),
                 *linear_of(mlp.fc2))
    return v.permute(0, 3, 1, 2)


def pool_and_bias(layer, out):
    """The end of an attention conv (SASA, BoT, halo, lambda): s x s
    average pooling with windows clipped at the border (ceil mode), then
    the output bias."""
    if layer.stride > 1:
        out = F.avg_pool2d(out, layer.stride, ceil_mode=True)
    if layer.bias is not None:
        out = out + layer.bias.view(1, -1, 1, 1)
    return out
