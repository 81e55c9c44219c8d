"""What the bad-data checks cost the data loader (#23 item 4).

    python tools/analysis_tools/benchmark_data_checks.py [--data-root DIR]
        [--num-images 200] [--repeats 5] [--workers 0] [--json FILE]

Loads the training set of the long-range benchmark's config
(``projects/long_range/configs/seg/fcn_r18-tiny_long-range-96x256.py``: synthetic
Cityscapes, 96x256 PNGs, the benchmark's pipeline) through a PyTorch data
loader three ways, in one process, in alternating passes:

* ``stock``: mmcv's and mmseg's loaders, nothing of mmattn's runtime;
* ``runtime``: the same loaders with :mod:`mmattn.runtime` installed;
* ``checked types``: ``mmattn.CheckedLoadImageFromFile`` and
  ``mmattn.CheckedLoadAnnotations`` in the pipeline, no runtime.

and prints images/s (median of the passes, and the spread) with the ratio
to ``stock``; the order of the ways rotates from pass to pass. Without
``--data-root`` it writes ``--num-images`` training
images with the benchmark's data settings (the same generator and
parameters as ``SEG_DATA`` of :mod:`long_range.recipe`, fewer
images) into a temporary folder.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROJECT = osp.join(ROOT, 'projects', 'long_range')
for path in (ROOT, PROJECT):  # mmattn from the checkout; long_range
    if path not in sys.path:
        sys.path.insert(0, path)

CONFIG = osp.join(PROJECT, 'configs', 'seg',
                  'fcn_r18-tiny_long-range-96x256.py')
WAYS = ('stock', 'runtime', 'checked types')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', help='long-range Cityscapes data '
                        '(default: written to a temporary folder)')
    parser.add_argument('--num-images', type=int, default=200,
                        help='training images to write without --data-root')
    parser.add_argument('--repeats', type=int, default=5,
                        help='passes over the set per way (alternating)')
    parser.add_argument('--workers', type=int, default=0,
                        help='data-loader worker processes (0: in process)')
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args(argv)
    for name in ('num_images', 'repeats'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    if args.workers < 0:
        parser.error('--workers must be >= 0')
    return args


def build_loader(cfg, data_root, way, workers):
    import torch
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS
    from mmattn.datasets.checked_loading import checked_pipeline
    dataset_cfg = dict(cfg.train_dataloader.dataset, data_root=data_root)
    if way == 'checked types':
        num_classes = len(DATASETS.get(dataset_cfg['type']).METAINFO[
            'classes'])
        dataset_cfg['pipeline'] = checked_pipeline(dataset_cfg['pipeline'],
                                                   num_classes)
    dataset = DATASETS.build(dataset_cfg)
    return torch.utils.data.DataLoader(
        dataset, batch_size=8, num_workers=workers, shuffle=False,
        collate_fn=pseudo_collate, persistent_workers=False)


def time_pass(loader):
    start = time.perf_counter()
    count = 0
    for batch in loader:
        count += len(batch['inputs'])
    return count, time.perf_counter() - start


def _runtime_for(way):
    """mmattn.runtime installed for the 'runtime' way only."""
    import mmattn.runtime
    if way == 'runtime':
        mmattn.runtime.install()
    else:
        mmattn.runtime.uninstall()


def run(data_root, repeats, workers):
    import mmattn  # noqa: F401
    import mmattn.runtime
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    cfg = Config.fromfile(CONFIG)  # imports mmattn.runtime: installed
    loaders = {}
    for way in WAYS:
        _runtime_for(way)
        loaders[way] = build_loader(cfg, data_root, way, workers)
    rates = {way: [] for way in WAYS}
    images = None
    for repeat in range(repeats + 1):  # the first pass warms the caches
        # each way takes each place in the round in turn: no way always
        # follows the same one
        for way in WAYS[repeat % 3:] + WAYS[:repeat % 3]:
            _runtime_for(way)
            count, seconds = time_pass(loaders[way])
            images = count
            if repeat:
                rates[way].append(count / seconds)
    mmattn.runtime.install()
    return images, rates


def table(images, rates, workers):
    anchor = statistics.median(rates['stock'])
    lines = [f'{images} images per pass, {len(rates["stock"])} passes per '
             f'way, {workers} workers',
             f'{"loading":<15} {"images/s":>9} {"min..max":>15} '
             f'{"vs stock":>9}']
    for way in WAYS:
        median = statistics.median(rates[way])
        lines.append(f'{way:<15} {median:>9.1f} '
                     f'{min(rates[way]):>7.1f}..{max(rates[way]):<7.1f} '
                     f'{median / anchor:>9.3f}')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data_root = args.data_root
        if data_root is None:
            from long_range.recipe import SEG_DATA
            from mmattn.datasets import make_cityscapes
            data_root = osp.join(tmp, 'cityscapes')
            make_cityscapes(data_root, **dict(
                SEG_DATA, num_train=args.num_images, num_val=1))
        elif not osp.isdir(osp.join(data_root, 'leftImg8bit', 'train')):
            raise FileNotFoundError(
                f'--data-root {data_root} has no leftImg8bit/train: expected '
                'synthetic Cityscapes (projects/long_range/tools/long_range_benchmark.py writes '
                'it)')
        images, rates = run(data_root, args.repeats, args.workers)
    print(table(images, rates, args.workers))
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(dict(images=images, workers=args.workers,
                           images_per_s=rates), f, indent=1)
    return rates


if __name__ == '__main__':
    main()
