"""Export every shipped config to ONNX, verify it and time it: the table of
docs/deployment.md.

    python tools/deployment/export_all.py [--configs PATH ...]
        [--seg-shape 256 512] [--det-shape 320 512] [--runs 3]
        [--out-dir work_dirs/onnx] [--json FILE]

Each config (default: every config under configs/ but the long-range
benchmark's and the top-level short names) is exported with free H and W and
initial weights (the table is about the export, not accuracy), compared with
PyTorch in onnxruntime on a random and a synthetic image at the example size
and two other sizes, and timed: median of --runs single-image forwards,
onnxruntime vs PyTorch, in this one process on this machine's threads.
Prints one markdown row per config as it finishes.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

HEADER = ('| config | task | opset | dynamic H, W | max abs diff | '
          'max rel diff | label agreement | ONNX MiB | onnxruntime ms | '
          'PyTorch ms | ratio |\n' + '|---' * 11 + '|')


def shipped_configs():
    paths = sorted(glob.glob(osp.join(ROOT, 'configs', '*', '*.py')))
    # the long-range benchmark's configs live in projects/, not here
    return [p for p in paths if osp.basename(osp.dirname(p)) != '_base_']


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--configs', nargs='+', default=None)
    parser.add_argument('--seg-shape', type=int, nargs=2, default=(256, 512))
    parser.add_argument('--det-shape', type=int, nargs=2, default=(320, 512))
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--out-dir', default='work_dirs/onnx')
    parser.add_argument('--json', default=None,
                        help='also write the rows as JSON')
    return parser.parse_args(argv)


def run_one(config, args):
    import torch
    from mmengine.config import Config

    from mmattn.deployment import (export_config, session_for, task_of,
                                   time_both, verify)
    from export_onnx import other_sizes
    torch.manual_seed(0)
    cfg = Config.fromfile(config)
    task = task_of(cfg)
    shape = tuple(args.seg_shape if task == 'seg' else args.det_shape)
    path = osp.join(args.out_dir,
                    osp.splitext(osp.basename(config))[0] + '.onnx')
    start = time.perf_counter()
    wrapper, info = export_config(cfg, path, shape=shape, dynamic=True)
    export_s = time.perf_counter() - start
    session = session_for(path)
    rows = verify(session, wrapper, shape, other_sizes(shape))
    timing = time_both(session, wrapper, shape, runs=args.runs)
    os.remove(path)  # hundreds of MiB each
    return dict(
        config=osp.relpath(config, ROOT), task=task, opset=info['opset'],
        shape=list(shape), size_mb=info['size_mb'], export_s=export_s,
        max_abs=max(r['max_abs'] for r in rows),
        max_rel=max(r['max_rel'] for r in rows),
        label_agreement=min(r['label_agreement'] for r in rows),
        checked_sizes=sorted({f'{r["size"][0]}x{r["size"][1]}'
                              for r in rows}),
        **timing)


def markdown_row(r):
    name = osp.basename(r['config']).replace('.py', '')
    if r.get('error'):
        return f'| {name} | fails: {r["error"]} |' + ' |' * 9
    agreement = (f'{r["label_agreement"]:.4f}' if r['task'] == 'seg'
                 else 'n/a')
    return (f'| {name} | {r["task"]} | {r["opset"]} | yes | '
            f'{r["max_abs"]:.1e} | {r["max_rel"]:.1e} | {agreement} | '
            f'{r["size_mb"]:.0f} | {1000 * r["onnxruntime_s"]:.0f} | '
            f'{1000 * r["torch_s"]:.0f} | '
            f'{r["onnxruntime_s"] / r["torch_s"]:.2f} |')


def main(argv=None):
    args = parse_args(argv)
    import mmattn.runtime
    mmattn.runtime.install()  # checkpoints load under weights_only
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    configs = args.configs or shipped_configs()
    os.makedirs(args.out_dir, exist_ok=True)
    print(HEADER, flush=True)
    results, failures = [], []
    for config in configs:
        try:
            result = run_one(config, args)
        except Exception as error:  # report every config, then fail
            failures.append((config, error))
            message = ' '.join(str(error).split())[:200]
            result = dict(config=osp.relpath(config, ROOT),
                          error=f'{type(error).__name__}: {message}')
        results.append(result)
        print(markdown_row(result), flush=True)
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(results, f, indent=1)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
