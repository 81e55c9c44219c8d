"""What each plugin block does to a pretrained ResNet-50 when inserted.

    python tools/analysis_tools/insertion_at_init.py [--checkpoint FILE]
        [--size N] [--json FILE]

Every registered plugin (mmattn's catalog) goes after conv3 of every
bottleneck of a ResNet-50 whose weights come from ``--checkpoint`` (the
backbone's keys, e.g. a torchvision ResNet-50 converted to mmcv's names, or
``pretrain/*_timm-in1k.pth`` of a plain family), loaded through the
backbone's ``init_cfg``; without one, a stand-in with trained-looking
batch-norm statistics (no weights can be downloaded here). The table gives
``||y' - y|| / ||y||`` of the stage outputs at step 0, with each block's
default init and, where the block has one, with its identity start
(``identity_init`` in the catalog). ``docs/pretrained.md`` shows the
table; ``--json`` writes the rows it is made from.
"""
import argparse
import json
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n\n'.join(__doc__.split('\n\n')[2:]))
    parser.add_argument('--checkpoint', help='ResNet-50 weights (backbone '
                        'keys); default: a random stand-in')
    parser.add_argument('--size', type=int, default=128,
                        help='input height and width (default 128)')
    parser.add_argument('--json', help='write the rows to this file')
    args = parser.parse_args(argv)
    if args.size < 32:
        parser.error(f'--size must be >= 32 (stage 4 is size / 32), got '
                     f'{args.size}')
    from mmattn.benchmark.insertion import (format_insertion_table,
                                            insertion_rows)
    rows = insertion_rows(args.checkpoint, size=args.size)
    print(format_insertion_table(rows))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(checkpoint=args.checkpoint or 'stand-in',
                           size=args.size, rows=rows), f, indent=1)
            f.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
