"""Export an mmattn model to ONNX (segmentors whole; detectors' backbone and
neck) and, with --verify, check the file against PyTorch in onnxruntime.

    python tools/deployment/export_onnx.py CONFIG [CHECKPOINT] --out FILE
        [--shape H W] [--dynamic] [--verify] [--cfg-options KEY=VALUE ...]

The file takes the image as cv2.imread gives it: (N, 3, H, W) float32, BGR,
0-255; normalisation is inside. A segmentor gives ``logits`` (N, K, H, W)
and ``labels`` (N, H, W); a detector its neck's maps ``feat0``, ``feat1``...
--dynamic keeps H and W free (the batch is 1; --verify then also checks
two other sizes). --verify prints the max absolute and relative difference
on a random and a synthetic image and exits 1 above 1e-3 relative. See
docs/deployment.md.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='weights (default: the initial ones)')
    parser.add_argument('--out', required=True, help='the .onnx file')
    parser.add_argument('--shape', type=int, nargs=2, default=(512, 1024),
                        metavar=('H', 'W'),
                        help='example image size (default 512 1024)')
    parser.add_argument('--dynamic', action='store_true',
                        help='keep height and width free')
    parser.add_argument('--verify', action='store_true',
                        help='compare with PyTorch in onnxruntime')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='config overrides, key=value')
    args = parser.parse_args(argv)
    if min(args.shape) < 1:
        parser.error(f'--shape: H and W must be positive, got {args.shape}')
    return args


def other_sizes(shape):
    """Two sizes unlike the example's, for checking a dynamic file: odd,
    and of another aspect ratio."""
    h, w = shape
    return [(h + 8 + 1, w - 8 + 3 if w > 16 else w + 5),
            (max(16, h // 2 + 5), w + 24)]


def main(argv=None):
    args = parse_args(argv)
    import mmattn.runtime
    mmattn.runtime.install()  # checkpoints load under weights_only
    from mmattn.deployment import (RELATIVE_TOLERANCE, export_config,
                                   session_for, verify)
    wrapper, info = export_config(args.config, args.out, args.checkpoint,
                                  tuple(args.shape), args.dynamic,
                                  args.cfg_options)
    print(f'wrote {args.out}: {info["size_mb"]:.1f} MiB, opset '
          f'{info["opset"]}, outputs {", ".join(info["outputs"])}, '
          f'{"dynamic H, W" if args.dynamic else "static shape"}')
    if not args.verify:
        return 0
    sizes = other_sizes(args.shape) if args.dynamic else []
    rows = verify(session_for(args.out), wrapper, args.shape, sizes)
    print('| image | size | max abs diff | max rel diff | label agreement |')
    print('|---|---|---|---|---|')
    for row in rows:
        print(f'| {row["image"]} | {row["size"][0]}x{row["size"][1]} | '
              f'{row["max_abs"]:.2e} | {row["max_rel"]:.2e} | '
              f'{row["label_agreement"]:.4f} |')
    worst = max(row['max_rel'] for row in rows)
    if worst > RELATIVE_TOLERANCE:
        print(f'FAILED: max relative difference {worst:.2e} > '
              f'{RELATIVE_TOLERANCE:g}')
        return 1
    print(f'verified: max relative difference {worst:.2e} <= '
          f'{RELATIVE_TOLERANCE:g}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
