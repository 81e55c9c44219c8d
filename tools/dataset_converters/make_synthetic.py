"""Write a small synthetic long-range-context dataset to disk.

Examples::

    python tools/dataset_converters/make_synthetic.py \
        --format cityscapes --out data/synthetic_cityscapes
    python tools/dataset_converters/make_synthetic.py \
        --format coco --out data/synthetic_coco --num-train 100 \
        --num-val 20 --size 256x256 --seed 1
    python tools/dataset_converters/make_synthetic.py \
        --format imagenet --out data/synthetic_imagenet
    python tools/dataset_converters/make_synthetic.py \
        --format cifar10 --out data/synthetic_cifar10

ImageNet and CIFAR sets (mmpretrain's layouts) hold side-bar scenes labelled
by the bar's colour (no --layout); CIFAR images are 32x32 and take no --size
or --margin either.

The rules of the scenes are described in ``docs/synthetic_data.md``; the
generator itself is :mod:`mmattn.datasets.synthetic`.
"""
import argparse
import json
import sys

from mmattn.datasets import (LAYOUTS, make_cifar, make_cityscapes, make_coco,
                             make_imagenet, parse_size)

# Per-format defaults: small so that tests and smoke runs take seconds.
DEFAULTS = dict(
    cityscapes=dict(num_train=8, num_val=4, size=(128, 256)),
    coco=dict(num_train=4, num_val=2, size=(128, 128)),
    imagenet=dict(num_train=8, num_val=4, size=(96, 96)),
    cifar10=dict(num_train=10, num_val=4, size=(32, 32)),
    cifar100=dict(num_train=10, num_val=4, size=(32, 32)))
CLASSIFICATION = ('imagenet', 'cifar10', 'cifar100')
#: options a classification format does not take, and why
FIXED = dict(imagenet=('layout', ),
             cifar10=('size', 'margin', 'layout', 'cue_width'),
             cifar100=('size', 'margin', 'layout', 'cue_width'))
FIXED_WHY = dict(imagenet='side-bar scenes: one bar, one label',
                 cifar10='32x32 side-bar scenes',
                 cifar100='32x32 side-bar scenes')


def _size(text):
    """argparse type for ``--size``: turns ValueError into a usage error."""
    try:
        return parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err))


def _non_negative_int(text):
    """argparse type for counts and seeds."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0 or str(text).strip() != str(text):
        raise argparse.ArgumentTypeError(
            f'expected a non-negative integer, got {text!r}')
    return value


def parse_args(argv=None):
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments without the program name;
            ``sys.argv[1:]`` when None.

    Returns:
        argparse.Namespace: ``format``, ``out``, ``num_train``, ``num_val``,
        ``size`` (``(h, w)``), ``seed``, ``layout``, ``margin``,
        ``cue_width``, ``label_cue_in_train`` and ``overwrite``, with the
        per-format defaults filled in.
    """
    parser = argparse.ArgumentParser(
        description='Write a small synthetic dataset in the Cityscapes, '
        'COCO, ImageNet or CIFAR on-disk layout (see '
        'docs/synthetic_data.md).')
    parser.add_argument(
        '--format', required=True, choices=sorted(DEFAULTS),
        help='on-disk layout to write')
    parser.add_argument('--out', required=True, help='dataset root folder')
    parser.add_argument(
        '--num-train', type=_non_negative_int,
        help='training images (default: 8 cityscapes, 4 coco)')
    parser.add_argument(
        '--num-val', type=_non_negative_int,
        help='validation images (default: 4 cityscapes, 2 coco)')
    parser.add_argument(
        '--size', type=_size, metavar='HxW',
        help='image height x width, each in [48, 4096] '
        '(default: 128x256 cityscapes, 128x128 coco)')
    parser.add_argument(
        '--seed', type=_non_negative_int, default=0,
        help='random seed; the same seed writes identical files')
    parser.add_argument(
        '--layout', choices=LAYOUTS, default=LAYOUTS[0],
        help='where the cue is: one bar at a side edge deciding every '
        'shape (side-bar, the benchmark) or four corner markers deciding '
        'the angular and the round shapes (corners)')
    parser.add_argument(
        '--margin', type=_non_negative_int,
        help='least distance in pixels between a shape and the cue '
        '(default: 40%% of the width beside the bar; corners: a quarter '
        'of the short side)')
    parser.add_argument(
        '--cue-width', type=_non_negative_int, metavar='PX',
        help='side-bar layout: width of the bar in pixels, at most a quarter '
        'of the width (default: a sixth of the short side, at least 4; the '
        'long-range benchmark\'s context sweep varies it)')
    parser.add_argument(
        '--label-cue-in-train', action='store_true',
        help='cityscapes: label the bar\'s pixels of the train split with '
        'the class its colour stands for (validation labels still ignore '
        'it); the long-range benchmark\'s data')
    parser.add_argument(
        '--overwrite', action='store_true',
        help='replace data generated earlier in --out')
    args = parser.parse_args(argv)
    if args.label_cue_in_train and args.format != 'cityscapes':
        parser.error(f'--label-cue-in-train is for --format cityscapes (a '
                     f'label map to write the bar into), got --format '
                     f'{args.format}')
    given = [f'--{k.replace("_", "-")}' for k in FIXED.get(args.format, ())
             if getattr(args, k) not in (None, LAYOUTS[0])]
    if given:
        parser.error(f'{", ".join(given)} cannot be set for --format '
                     f'{args.format} ({FIXED_WHY[args.format]})')
    for key, value in DEFAULTS[args.format].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main(argv=None):
    """Generate the dataset and print its summary as JSON.

    Args:
        argv (list[str], optional): See :func:`parse_args`.

    Returns:
        dict: The summary returned by the generator.
    """
    args = parse_args(argv)
    counts = dict(num_train=args.num_train, num_val=args.num_val,
                  seed=args.seed, overwrite=args.overwrite)
    try:
        if args.format == 'imagenet':
            summary = make_imagenet(args.out, size=args.size,
                                    margin=args.margin,
                                    cue_width=args.cue_width, **counts)
        elif args.format in CLASSIFICATION:
            summary = make_cifar(args.out, args.format, **counts)
        elif args.format == 'cityscapes':
            summary = make_cityscapes(
                args.out, size=args.size, layout=args.layout,
                margin=args.margin, cue_width=args.cue_width,
                label_cue_in_train=args.label_cue_in_train, **counts)
        else:
            summary = make_coco(args.out, size=args.size, layout=args.layout,
                                margin=args.margin, cue_width=args.cue_width,
                                **counts)
    except (FileExistsError, RuntimeError, ValueError) as err:
        sys.exit(f'make_synthetic.py: error: {err}')
    print(json.dumps(summary, indent=1))
    return summary


if __name__ == '__main__':
    main()
