"""Run an ONNX file written by export_onnx.py on one image and paint the
result, with onnxruntime, numpy and OpenCV only (no torch, no OpenMMLab).

    python tools/deployment/onnx_inference.py MODEL.onnx IMAGE --out DIR
        [--opacity 0.5]

A segmentor's file: DIR/<image>_pred.png (the label map, one class index a
pixel) and DIR/<image>_vis.png (the classes painted over the image in the
dataset's palette, stored in the file at export). A detector's file holds
the backbone and neck only (no boxes): DIR/<image>_feat<i>.png shows each
neck level's feature magnitude over the image. Prints what it wrote.
"""
import argparse
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import onnxruntime as ort


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('model', help='the .onnx file')
    parser.add_argument('image', help='an image file (any OpenCV reads)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='of the painted classes (default 0.5)')
    args = parser.parse_args(argv)
    if not 0 <= args.opacity <= 1:
        parser.error(f'--opacity must be in [0, 1], got {args.opacity}')
    for name in ('model', 'image'):
        if not osp.isfile(getattr(args, name)):
            parser.error(f'{name}: no such file {getattr(args, name)!r}')
    return args


def read_metadata(session):
    props = session.get_modelmeta().custom_metadata_map
    if props.get('mmattn_task') not in ('seg', 'det'):
        raise SystemExit(
            'model: not written by tools/deployment/export_onnx.py (no '
            'mmattn_task in its metadata)')
    return dict(task=props['mmattn_task'],
                classes=json.loads(props.get('classes', '[]')),
                palette=json.loads(props.get('palette', '[]')))


def palette_for(num_classes, palette):
    """The stored palette (RGB), or fixed random colours if it is short."""
    rng = np.random.default_rng(0)
    colours = np.array(palette, dtype=np.uint8).reshape(-1, 3)
    if len(colours) < num_classes:
        extra = rng.integers(0, 256, (num_classes - len(colours), 3))
        colours = np.concatenate([colours, extra.astype(np.uint8)])
    return colours


def paint_segmentation(image, labels, palette, opacity):
    """BGR image with the classes painted over it."""
    colours = palette_for(int(labels.max()) + 1, palette)[labels]
    painted = image.astype(np.float32) * (1 - opacity) \
        + colours[..., ::-1].astype(np.float32) * opacity
    return painted.round().astype(np.uint8)


def paint_feature(image, feature):
    """The channel-wise L2 norm of one (C, h, w) map, as a heat map over the
    image."""
    energy = np.sqrt((feature.astype(np.float64)**2).sum(axis=0))
    energy = (energy - energy.min()) / max(float(np.ptp(energy)), 1e-12)
    heat = cv2.resize((energy * 255).astype(np.uint8),
                      (image.shape[1], image.shape[0]),
                      interpolation=cv2.INTER_LINEAR)
    heat = cv2.applyColorMap(heat, cv2.COLORMAP_JET)
    return cv2.addWeighted(image, 0.5, heat, 0.5, 0)


def main(argv=None):
    args = parse_args(argv)
    image = cv2.imread(args.image, cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f'image: OpenCV cannot read {args.image!r}')
    session = ort.InferenceSession(args.model,
                                   providers=['CPUExecutionProvider'])
    meta = read_metadata(session)
    batch = image.transpose(2, 0, 1)[None].astype(np.float32)
    names = [o.name for o in session.get_outputs()]
    outputs = dict(zip(names,
                       session.run(None, {session.get_inputs()[0].name:
                                          batch})))
    os.makedirs(args.out, exist_ok=True)
    stem = osp.splitext(osp.basename(args.image))[0]
    written = []
    if meta['task'] == 'seg':
        labels = outputs['labels'][0].astype(np.int64)
        pred = osp.join(args.out, f'{stem}_pred.png')
        cv2.imwrite(pred, labels.astype(np.uint8 if labels.max() < 256
                                        else np.uint16))
        vis = osp.join(args.out, f'{stem}_vis.png')
        cv2.imwrite(vis, paint_segmentation(image, labels, meta['palette'],
                                            args.opacity))
        written += [pred, vis]
        present = sorted(set(np.unique(labels).tolist()))
        classes = meta['classes']
        print('classes present: ' + ', '.join(
            classes[i] if i < len(classes) else str(i) for i in present))
    else:
        for name in names:
            path = osp.join(args.out, f'{stem}_{name}.png')
            cv2.imwrite(path, paint_feature(image, outputs[name][0]))
            written.append(path)
            print(f'{name}: {tuple(outputs[name].shape)}')
    for path in written:
        print(f'wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
