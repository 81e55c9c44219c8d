"""Benchmark blocks, heads and whole models: time, peak memory, params, FLOPs.

    python tools/benchmark.py [--case da_head] [--size 32x64] [--batch 1]
        [--mode forward|backward|both] [--runs 5] [--warmup 2]
        [--device cpu|cuda] [--threads N] [--json out.json] [--plot out.png]
    python tools/benchmark.py --module 'dict(type=...)' --module '...'
        --shape 1x512x64x128 [--scope mmseg]
    python tools/benchmark.py --config path/to/config.py [--size 512x1024]
    python tools/benchmark.py --list

Without --case/--module/--config it runs the ``da_head`` case. Every source
given is measured in this one process and printed in one table, with the time
and memory ratios against the first implementation (or --baseline) whenever
there are two or more; --compare insists on two or more. FLOPs count the
matmuls (bmm/einsum/SDPA) as well as the convolutions. See docs/benchmark.md.
"""
import argparse
import ast
import os.path as osp
import re
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

MODE_CHOICES = {
    'forward': ('forward', ),
    'backward': ('forward+backward', ),
    'both': ('forward', 'forward+backward'),
}


def parse_size(text):
    """``'32x64'`` -> ``(32, 64)``; ``'64'`` -> ``(64, 64)``."""
    parts = [int(p) for p in text.lower().replace('*', 'x').split('x') if p]
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f'expected HxW, got {text!r}')
    return tuple(parts)


def parse_shape(text):
    """``'1x512x64x128'`` -> ``(1, 512, 64, 128)``."""
    try:
        shape = tuple(int(p) for p in text.lower().split('x'))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f'expected NxCxHxW, got {text!r}')
    return shape


def parse_module_cfg(text):
    """``"dict(type='X', a=1)"`` or ``"{'type': 'X'}"`` -> a dict.

    Only literals and ``dict``/``list``/``tuple`` calls are allowed.
    """
    allowed = {'dict': dict, 'list': list, 'tuple': tuple}
    tree = ast.parse(text.strip(), mode='eval')
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in allowed:
            raise argparse.ArgumentTypeError(
                f'--module: name {node.id!r} is not allowed in {text!r}')
        if isinstance(node, (ast.Attribute, ast.Lambda, ast.Subscript)):
            raise argparse.ArgumentTypeError(
                f'--module: only literals and dict(...) in {text!r}')
    cfg = eval(compile(tree, '<--module>', 'eval'), {'__builtins__': {}},
               dict(allowed))
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise argparse.ArgumentTypeError(
            f'--module: expected a dict with a type, got {text!r}')
    return cfg


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
    src = parser.add_argument_group('what to measure')
    src.add_argument(
        '--case', action='append', default=[],
        help='a named case of mmattn.benchmark.cases (repeatable); '
        '--list shows them')
    src.add_argument(
        '--module', action='append', default=[], type=parse_module_cfg,
        metavar='CFG',
        help="a registered module as a config dict, e.g. \"dict(type="
        "'NonLocal2d', in_channels=512)\" (repeatable; needs --shape)")
    src.add_argument(
        '--shape', type=parse_shape, default=None, metavar='NxCxHxW',
        help='the input of the --module entries')
    src.add_argument(
        '--scope', default='mmseg',
        help='default registry scope of --module (default: mmseg)')
    src.add_argument(
        '--config', action='append', default=[], metavar='PATH',
        help='a whole model from a config file (repeatable); its input is '
        'a batch of --size images (default 512x1024)')
    src.add_argument(
        '--only', default=None, metavar='REGEX',
        help='keep the first implementation (the anchor) and those whose '
        'name matches REGEX (re.search), e.g. --only "BAT|halo" to add rows '
        'to a table without re-measuring the rest')
    src.add_argument('--list', action='store_true', help='list the cases')
    run = parser.add_argument_group('how to measure')
    run.add_argument(
        '--size', type=parse_size, default=None, metavar='HxW',
        help="override the input size of --case (the feature map's for "
        "blocks and heads) and --config (the image's)")
    run.add_argument('--batch', type=int, default=None,
                     help='override the batch size (default: the case\'s, 1)')
    run.add_argument('--mode', choices=sorted(MODE_CHOICES), default='both',
                     help='forward, forward+backward ("backward") or both')
    run.add_argument('--runs', type=int, default=5,
                     help='timed runs, median reported (default 5)')
    run.add_argument('--warmup', type=int, default=2,
                     help='untimed runs before (default 2)')
    run.add_argument('--device', default=None, choices=['cpu', 'cuda'],
                     help='default: cuda if available, else cpu')
    run.add_argument('--threads', type=int, default=None,
                     help='torch.set_num_threads for the CPU')
    run.add_argument('--seed', type=int, default=0)
    run.add_argument(
        '--sequential', action='store_true',
        help='time the implementations one after the other instead of '
        'taking turns run by run')
    run.add_argument('--no-memory', action='store_true',
                     help='skip the peak-memory measurement')
    out = parser.add_argument_group('output')
    out.add_argument(
        '--compare', action='store_true',
        help='require two or more implementations (ratios are printed '
        'whenever there are)')
    out.add_argument('--baseline', default=None, metavar='NAME',
                     help='anchor of the ratios (default: the first row)')
    out.add_argument('--names', default=None,
                     help='comma-separated labels replacing the row names, '
                     'in order')
    out.add_argument('--json', default=None, metavar='PATH',
                     help='write the results as JSON')
    out.add_argument('--plot', default=None, metavar='PATH',
                     help='write bar charts (PNG, SVG, ...)')
    out.add_argument('--quiet', action='store_true',
                     help='no progress lines on stderr')
    args = parser.parse_args(argv)
    if args.module and args.shape is None:
        parser.error('--module needs --shape NxCxHxW')
    if args.runs < 1 or args.warmup < 0:
        parser.error('--runs must be >= 1 and --warmup >= 0')
    return args


def collect_entries(args):
    from mmattn.benchmark.cases import get_case, model_entry, module_entry

    entries = []
    cases = args.case or ([] if args.module or args.config else ['da_head'])
    for name in cases:
        entries += get_case(name).entries(args.size, args.batch)
    for cfg in args.module:
        shape = args.shape
        if args.batch is not None:
            shape = (args.batch, ) + tuple(shape[1:])
        entries.append(module_entry(cfg, shape, scope=args.scope))
    for path in args.config:
        entries.append(
            model_entry(path, args.size or (512, 1024), args.batch or 1))
    if args.names:
        labels = [n.strip() for n in args.names.split(',')]
        if len(labels) != len(entries):
            raise SystemExit(f'--names has {len(labels)} labels for '
                             f'{len(entries)} implementations')
        entries = [e._replace(name=n) for e, n in zip(entries, labels)]
    if args.only is not None:
        try:
            pattern = re.compile(args.only)
        except re.error as err:
            raise SystemExit(f'--only {args.only!r} is not a regular '
                             f'expression: {err}')
        kept = entries[:1] + [e for e in entries[1:]
                              if pattern.search(e.name)]
        if len(kept) == 1 and len(entries) > 1:
            raise SystemExit(
                f'--only {args.only!r} matches none of '
                f'{[e.name for e in entries[1:]]}')
        entries = kept
    # duplicate names (e.g. two configs of the same type) get a suffix
    seen = {}
    unique = []
    for e in entries:
        seen[e.name] = seen.get(e.name, 0) + 1
        unique.append(
            e if seen[e.name] == 1 else e._replace(
                name=f'{e.name}#{seen[e.name]}'))
    return unique


def main(argv=None):
    args = parse_args(argv)
    from mmattn.benchmark import cases as cases_mod
    if args.list:
        for case in cases_mod.list_cases():
            h, w = case.size
            print(f'{case.name:<16} {h}x{w}, batch {case.batch}: {case.help}')
        return 0

    import torch

    from mmattn.benchmark.measure import (format_table, plot_results,
                                          run_benchmark, save_json)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: CUDA is not available')

    entries = collect_entries(args)
    if args.compare and len(entries) < 2:
        raise SystemExit('--compare needs two or more implementations, got '
                         f'{len(entries)}')
    names = [e.name for e in entries]
    if args.baseline is not None and args.baseline not in names:
        raise SystemExit(f'--baseline {args.baseline!r} is not one of {names}')

    log = None if args.quiet else (
        lambda msg: print(msg, file=sys.stderr, flush=True))
    results = run_benchmark(
        entries,
        MODE_CHOICES[args.mode],
        log=log,
        device=device,
        warmup=args.warmup,
        runs=args.runs,
        memory=not args.no_memory,
        seed=args.seed,
        interleave=not args.sequential)

    where = (torch.cuda.get_device_name() if device == 'cuda' else
             f'cpu, {torch.get_num_threads()} threads')
    print(f'device: {where}; torch {torch.__version__}; '
          f'median of {args.runs} runs after {args.warmup} warm-up')
    print(format_table(results, baseline=args.baseline))
    if args.json:
        meta = dict(
            command=' '.join(['python', 'tools/benchmark.py'] +
                             list(sys.argv[1:] if argv is None else argv)),
            cases=args.case, configs=args.config, device=device)
        save_json(args.json, results, args.baseline, meta)
        if log:
            log(f'wrote {args.json}')
    if args.plot:
        plot_results(args.plot, results, title=', '.join(
            args.case or args.config or ['modules']))
        if log:
            log(f'wrote {args.plot}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
