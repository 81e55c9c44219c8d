"""Parameters and FLOPs of whole mmattn models, attention matmuls counted,
beside mmengine's counter.

    python tools/analysis_tools/get_flops.py CONFIG [CONFIG ...]
        [--shape H W] [--no-mmengine] [--json FILE]

One inference forward of the whole model on a (1, 3, H, W) image (default
512x1024 for segmentation, 800x1344 for detection), initial weights: a
segmentor through mmseg's encode_decode (logits resized to the input), a
detector through mmdet's ``mode='tensor'`` forward (RPN and RoI head
included). FLOPs are counted by mmattn's benchmark counter
(``torch.utils.flop_counter`` at the ATen level: one multiply-add = 2 FLOPs;
convolutions, linear layers and every matmul of the attention, SDPA
included). mmengine's ``get_model_complexity_info`` is printed beside it: it
counts multiply-adds (so x2 to compare) and, tracing with the JIT, can miss
modules (it names them in a warning). Prints a markdown table; see
docs/flops.md.
"""
import argparse
import functools
import json
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DEFAULT_SHAPES = dict(seg=(512, 1024), det=(800, 1344), cls=(224, 224))
#: classifiers trained on CIFAR take its 32x32 images
CIFAR_SHAPE = (32, 32)
#: ATen ops that carry the attention's matmuls (mm/addmm are linear layers)
MATMUL_OPS = ('aten.bmm', 'aten.baddbmm', 'aten._scaled_dot_product')
HEADER = ('| config | input | params (M) | GFLOPs | attention matmul GFLOPs | '
          "mmengine's GFLOPs (2 x its multiply-adds) |\n"
          '|---|---|---|---|---|---|')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--shape', type=int, nargs=2, default=None,
                        metavar=('H', 'W'))
    parser.add_argument('--no-mmengine', action='store_true',
                        help="skip mmengine's counter")
    parser.add_argument('--json', default=None)
    args = parser.parse_args(argv)
    if args.shape is not None and min(args.shape) < 1:
        parser.error(f'--shape: H and W must be positive, got {args.shape}')
    return args


def load_classifier(config):
    """An mmpretrain config's classifier in eval mode, and its input
    size: mmattn's deployment loader serves mmseg and mmdet only."""
    import mmattn  # noqa: F401  (registers the blocks and CIFARResNet)
    from mmattn.engine.torchvision_standin import import_mmpretrain
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    import_mmpretrain()
    cfg = Config.fromfile(config)
    init_default_scope('mmpretrain')
    from mmpretrain.registry import MODELS
    model = MODELS.build(cfg.model)
    model.eval()
    dataset = str(cfg.get('train_dataloader', {}).get('dataset', {}).get(
        'type', ''))
    return model, CIFAR_SHAPE if 'CIFAR' in dataset else None


def _load(config):
    """(model, task, input shape or None for the task's default)."""
    from mmengine.config import Config
    if Config.fromfile(config).get('default_scope') == 'mmpretrain':
        model, shape = load_classifier(config)
        return model, 'cls', shape
    from mmattn.deployment import load_model
    return (*load_model(config), None)


def _forward_of(model, task, shape):
    """(module, image) whose ``module(image)`` is the inference forward."""
    import torch
    from mmattn.deployment import wrapper_for
    image = torch.rand(1, 3, *shape) * 255
    if task == 'seg':
        return wrapper_for(model, task), image
    if task == 'cls':  # the backbone, neck and head: the class scores
        model.forward = functools.partial(model.forward, mode='tensor')
        return model, image
    from mmdet.structures import DetDataSample
    h, w = shape
    sample = DetDataSample(metainfo=dict(
        img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
        batch_input_shape=(h, w), scale_factor=(1., 1.)))
    # mmdet's data preprocessor (normalise, pad to 32) is left out: its
    # element-wise work is not counted, FLOPs do not depend on the pixel
    # values, and the default size is already a multiple of 32
    model.forward = functools.partial(model.forward, data_samples=[sample],
                                      mode='tensor')
    return model, image


def measure(config, shape=None, with_mmengine=True):
    import torch
    from mmattn.benchmark.measure import count_params, flops_by_op
    torch.manual_seed(0)
    model, task, own_shape = _load(config)
    shape = tuple(shape or own_shape or DEFAULT_SHAPES[task])
    module, image = _forward_of(model, task, shape)
    with torch.no_grad():
        by_op = flops_by_op(lambda: module(image))
    result = dict(
        config=osp.relpath(osp.abspath(config), ROOT), task=task,
        shape=list(shape), params=count_params(model),
        flops=sum(by_op.values()),
        matmul_flops=sum(n for op, n in by_op.items()
                         if op.startswith(MATMUL_OPS)),
        by_op=by_op, mmengine_flops=None, mmengine_error=None)
    if with_mmengine:
        from mmengine.analysis import get_model_complexity_info
        try:
            info = get_model_complexity_info(module, inputs=(image, ),
                                             show_table=False,
                                             show_arch=False)
            result['mmengine_flops'] = 2 * int(info['flops'])
        except Exception as error:  # report it in the table, keep going
            result['mmengine_error'] = f'{type(error).__name__}: {error}'
    return result


def markdown_row(r):
    name = osp.basename(r['config']).replace('.py', '')
    if r['mmengine_flops'] is not None:
        theirs = f'{r["mmengine_flops"] / 1e9:.1f}'
    else:
        theirs = 'failed' if r['mmengine_error'] else 'not run'
    return (f'| {name} | {r["shape"][0]}x{r["shape"][1]} | '
            f'{r["params"] / 1e6:.2f} | {r["flops"] / 1e9:.1f} | '
            f'{r["matmul_flops"] / 1e9:.2f} | {theirs} |')


def main(argv=None):
    args = parse_args(argv)
    for config in args.configs:
        if not osp.isfile(config):
            raise SystemExit(f'config: no such file {config!r}')
    print(HEADER, flush=True)
    results = []
    for config in args.configs:
        result = measure(config, args.shape, not args.no_mmengine)
        results.append(result)
        print(markdown_row(result), flush=True)
        if result['mmengine_error']:
            print(f"<!-- mmengine's counter failed: "
                  f"{result['mmengine_error'][:300]} -->", flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
