"""Pictures of what each attention module of a trained model attends to,
for one image, drawn over it.

    python tools/analysis_tools/visualize_attention.py CONFIG CHECKPOINT IMAGE
        --out DIR [--points x,y ...] [--modules NAME ...] [--device cpu]

The image goes through the model's own inference (mmseg's inference_model
or mmdet's inference_detector: its test pipeline included) with forward
hooks on the attention modules (nothing in the model changes); each module
gives DIR/<module name>.png:

- SPANet: the selected positions, numbered by saliency, and the channel
  affinity; PAM and non-local: the attention map of each query point;
  criss-cross: the reach of each query after one pass and after all passes;
  CAM: the channel affinity; GC: the context-pooling weights; OCR: the soft
  object region of each predicted class; APNB: each query's attention
  over the pyramid-pooled keys; SE, ECA, SPENet, FcaNet: channel gates as
  bars; CBAM, scSE, BAM: the effective gate out / x as a heatmap.

--points gives query points in image pixels (default: the 4 positions of
largest feature norm, SPANet's saliency). --modules keeps the modules whose
names match (fnmatch patterns, e.g. 'decode_head.*'). See
docs/visualization.md.
"""
import argparse
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_point(text):
    try:
        x, y = (int(v) for v in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'--points: expected x,y in pixels, got {text!r}')
    if x < 0 or y < 0:
        raise argparse.ArgumentTypeError(
            f'--points: x and y must be >= 0, got {text!r}')
    return x, y


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('image')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--points', type=parse_point, nargs='+',
                        default=None, help='query points x,y in pixels')
    parser.add_argument('--modules', nargs='+', default=None,
                        help='module names to draw (fnmatch patterns)')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    for name in ('config', 'checkpoint', 'image'):
        if not osp.isfile(getattr(args, name)):
            parser.error(f'{name}: no such file {getattr(args, name)!r}')
    return args


def main(argv=None):
    args = parse_args(argv)
    import mmattn.runtime
    mmattn.runtime.install()  # checkpoints load under weights_only
    import mmcv
    from mmattn.deployment import load_model
    from mmattn.visualization import (AttentionRecorder, draw_module,
                                      panels_for)
    image = mmcv.imread(args.image)  # BGR
    height, width = image.shape[:2]
    for x, y in args.points or ():
        if x >= width or y >= height:
            raise SystemExit(f'--points: ({x}, {y}) is outside the image '
                             f'({width}x{height})')
    # mmseg's init_model or mmdet's init_detector, by the config's scope
    model, task = load_model(args.config, args.checkpoint,
                             device=args.device)
    if task == 'seg':
        from mmseg.apis import inference_model as infer
    else:
        from mmdet.apis import inference_detector as infer
    with AttentionRecorder(model, args.modules) as recorder:
        infer(model, image)
    if not recorder.calls:
        raise SystemExit('the model has no attention module mmattn can '
                         'draw (see the list in this tool\'s help)')
    os.makedirs(args.out, exist_ok=True)
    rgb = mmcv.bgr2rgb(image)
    for name, (module, calls) in recorder.calls.items():
        try:
            panels = panels_for(module, calls, args.points, (height, width))
        except NotImplementedError as reason:
            print(f'{name}: skipped ({reason})')
            continue
        path = osp.join(args.out, f'{name}.png')
        draw_module(path, f'{name} ({type(module).__name__})', panels, rgb)
        print(f'wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
