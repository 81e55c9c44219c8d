"""Run a trained mmattn model on one image and paint the result, through the
OpenMMLab inference APIs (mmseg's init_model/inference_model, mmdet's
init_detector/inference_detector).

    python tools/inference.py IMAGE CONFIG CHECKPOINT --out DIR
        [--device cpu] [--opacity 0.5] [--score-thr 0.3]

Segmentation: DIR/<image>_pred.png (label map) and DIR/<image>_vis.png (the
classes painted over the image). Detection: DIR/<image>_vis.png (boxes, and
masks for an instance-segmentation model, above --score-thr). Nothing needs
importing by hand: the config's custom_imports brings mmattn in.
"""
import argparse
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('image')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='of the painted segmentation (default 0.5)')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='boxes below this score are not drawn')
    args = parser.parse_args(argv)
    for name in ('image', 'config', 'checkpoint'):
        if not osp.isfile(getattr(args, name)):
            parser.error(f'{name}: no such file {getattr(args, name)!r}')
    if not 0 <= args.opacity <= 1:
        parser.error(f'--opacity must be in [0, 1], got {args.opacity}')
    return args


def segment(args, model, stem):
    import mmcv
    import numpy as np
    from mmseg.apis import inference_model, show_result_pyplot
    result = inference_model(model, args.image)
    labels = result.pred_sem_seg.data[0].cpu().numpy()
    pred = osp.join(args.out, f'{stem}_pred.png')
    mmcv.imwrite(labels.astype(np.uint8 if labels.max() < 256
                               else np.uint16), pred)
    vis = osp.join(args.out, f'{stem}_vis.png')
    show_result_pyplot(model, args.image, result, opacity=args.opacity,
                       draw_gt=False, show=False, out_file=vis)
    classes = model.dataset_meta.get('classes', ())
    present = np.unique(labels).tolist()
    print('classes present: ' + ', '.join(
        str(classes[i]) if i < len(classes) else str(i) for i in present))
    return [pred, vis]


def detect(args, model, stem):
    import mmcv
    from mmdet.apis import inference_detector
    from mmdet.registry import VISUALIZERS
    result = inference_detector(model, args.image)
    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.dataset_meta = model.dataset_meta
    vis = osp.join(args.out, f'{stem}_vis.png')
    image = mmcv.imconvert(mmcv.imread(args.image), 'bgr', 'rgb')
    visualizer.add_datasample(stem, image, data_sample=result,
                              draw_gt=False, show=False, out_file=vis,
                              pred_score_thr=args.score_thr)
    scores = result.pred_instances.scores
    print(f'{int((scores >= args.score_thr).sum())} of {len(scores)} '
          f'detections at score >= {args.score_thr}')
    return [vis]


def main(argv=None):
    args = parse_args(argv)
    import mmattn.runtime
    mmattn.runtime.install()  # checkpoints load under weights_only
    from mmattn.deployment import load_model
    # mmseg's init_model or mmdet's init_detector, by the config's scope
    model, task = load_model(args.config, args.checkpoint,
                             device=args.device)
    os.makedirs(args.out, exist_ok=True)
    stem = osp.splitext(osp.basename(args.image))[0]
    written = (segment if task == 'seg' else detect)(args, model, stem)
    for path in written:
        print(f'wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
