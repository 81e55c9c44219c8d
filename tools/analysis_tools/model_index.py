"""Write the per-method pages and OpenMMLab metafiles of ``configs/``.

    python tools/analysis_tools/model_index.py [--check]

For every folder of ``configs/`` (``_base_`` aside) it writes:

- ``README.md``: the paper(s) with link and BibTeX, the mechanism in one
  line, and every config with what was measured for it here: parameters
  and FLOPs (``docs/flops/flops.json``), ONNX export
  (``docs/deployment/export_table.json``) and the long-range benchmark's
  row of the mechanism (``docs/long_range/results.json``);
- ``metafile.yaml`` in OpenMMLab's format (``Collections``, ``Models``),
  one entry per config. Entries with published weights (the model zoo:
  ``Weights``) are kept as they are.

and ``model-index.yml`` at the root, importing every metafile, so that
``mim search`` and OpenMMLab's model-index tools read mmattn's configs.
``--check`` writes nothing and exits 1 if a file differs from what would be
written. The alias configs at the top of ``configs/`` (one ``_base_`` line)
are not listed: their targets are.
"""
import argparse
import glob
import json
import os.path as osp
import sys

import yaml

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'projects', 'long_range'))

#: Papers: key -> (title, arXiv id, BibTeX authors, venue, year, one line).
PAPERS = {
    'ANN': ('Asymmetric Non-local Neural Networks for Semantic Segmentation',
            '1908.07678', 'Zhu, Z. and Xu, M. and Bai, S. and Huang, T. and '
            'Bai, X.', 'ICCV', 2019,
            'non-local attention whose keys are pyramid-pooled (APNB) and a '
            'fusion of two stages (AFNB)'),
    'CCNet': ('CCNet: Criss-Cross Attention for Semantic Segmentation',
              '1811.11721', 'Huang, Z. and Wang, X. and Huang, L. and '
              'Huang, C. and Wei, Y. and Liu, W.', 'ICCV', 2019,
              'each position attends to its row and column; two passes '
              'reach the whole image'),
    'DANet': ('Dual Attention Network for Scene Segmentation', '1809.02983',
              'Fu, J. and Liu, J. and Tian, H. and Li, Y. and Bao, Y. and '
              'Fang, Z. and Lu, H.', 'CVPR', 2019,
              'position attention (every pixel over every pixel) and channel '
              'attention, summed'),
    'GCNet': ('GCNet: Non-local Networks Meet Squeeze-Excitation Networks '
              'and Beyond', '1904.11492', 'Cao, Y. and Xu, J. and Lin, S. '
              'and Wei, F. and Hu, H.', 'ICCV Workshops', 2019,
              'one query-independent attention map pools a global context '
              'that a bottleneck transform adds to every position'),
    'NonLocal': ('Non-local Neural Networks', '1711.07971',
                 'Wang, X. and Girshick, R. and Gupta, A. and He, K.',
                 'CVPR', 2018, 'every position attends to every position '
                 '(embedded Gaussian), added back residually'),
    'OCRNet': ('Object-Contextual Representations for Semantic '
               'Segmentation', '1909.11065', 'Yuan, Y. and Chen, X. and '
               'Wang, J.', 'ECCV', 2020, 'pixels attend to soft object '
               'regions built from a coarse segmentation'),
    'SPANet': ('Salient Positions based Attention Network for Image '
               'Classification', '2106.04996', 'Fang, S. and Li, K. and '
               'Li, Z.', 'arXiv', 2021, 'non-local attention over the k '
               'most salient positions only'),
    'SE': ('Squeeze-and-Excitation Networks', '1709.01507',
           'Hu, J. and Shen, L. and Sun, G.', 'CVPR', 2018,
           'a channel gate from globally pooled features'),
    'ECA': ('ECA-Net: Efficient Channel Attention for Deep Convolutional '
            'Neural Networks', '1910.03151', 'Wang, Q. and Wu, B. and '
            'Zhu, P. and Li, P. and Zuo, W. and Hu, Q.', 'CVPR', 2020,
            'a channel gate from a 1-D convolution over pooled channels'),
    'CBAM': ('CBAM: Convolutional Block Attention Module', '1807.06521',
             'Woo, S. and Park, J. and Lee, J.-Y. and Kweon, I. S.', 'ECCV',
             2018, 'a channel gate, then a spatial gate'),
    'FcaNet': ('FcaNet: Frequency Channel Attention Networks', '2012.11879',
               'Qin, Z. and Zhang, P. and Wu, F. and Li, X.', 'ICCV', 2021,
               'a channel gate from several DCT frequencies, not only the '
               'mean'),
    'SPENet': ('SPEM: Self-adaptive Pooling Enhanced Attention Module for '
               'Image Recognition', '2208.10322', 'Zhong, S. and Wen, W. '
               'and Qin, J.', 'MMM', 2023, 'a channel gate from a learned '
               'mix of average and max pooling'),
    'SKNet': ('Selective Kernel Networks', '1903.06586', 'Li, X. and '
              'Wang, W. and Hu, X. and Yang, J.', 'CVPR', 2019,
              'a 3x3 convolution choosing, per channel, between two '
              'receptive fields'),
    'GENet': ('Gather-Excite: Exploiting Feature Context in Convolutional '
              'Neural Networks', '1810.12348', 'Hu, J. and Shen, L. and '
              'Albanie, S. and Sun, G. and Vedaldi, A.', 'NeurIPS', 2018,
              'a gate from context gathered over a spatial extent'),
    'ResNeSt': ('ResNeSt: Split-Attention Networks', '2004.08955',
                'Zhang, H. and Wu, C. and Zhang, Z. and Zhu, Y. and Lin, H. '
                'and Zhang, Z. and Sun, Y. and He, T. and Mueller, J. and '
                'Manmatha, R. and Li, M. and Smola, A.', 'CVPR Workshops',
                2022, 'a 3x3 convolution whose splits are mixed by a '
                'softmax attention'),
}

#: Config name token -> paper, for folders that hold several mechanisms
#: (checked in order: the first token found in the name decides).
TOKENS = (('spanet', 'SPANet'), ('spenet', 'SPENet'), ('fcanet', 'FcaNet'),
          ('cbam', 'CBAM'), ('eca', 'ECA'), ('-ge_', 'GENet'),
          ('-sk_', 'SKNet'), ('skresnext', 'SKNet'), ('resnest', 'ResNeSt'),
          ('se', 'SE'), ('nonlocal', 'NonLocal'))

#: Folder -> (title of its page, what the folder is).
FOLDERS = {
    'ann': ('ANN', 'mmattn.ANNHead on mmseg\'s R50-D8.'),
    'ccnet': ('CCNet', 'mmattn.CCHead on mmseg\'s R50-D8.'),
    'danet': ('DANet', 'mmattn.DAHead on mmseg\'s R50-D8, and DANet\'s two '
              'attentions on FPN levels (mmattn.AttentionNeck).'),
    'gcnet': ('GCNet', 'mmattn.GCHead on mmseg\'s R50-D8, and a global '
              'context block on FPN levels (mmattn.AttentionNeck).'),
    'nonlocal': ('Non-local', 'mmattn.NLHead on mmseg\'s R50-D8.'),
    'ocrnet': ('OCRNet', 'mmattn.OCRHead (with mmseg\'s FCNHead) on mmseg\'s '
               'R50-D8 and R101-D8.'),
    'spanet': ('SPANet', 'mmattn.SPAHead on mmseg\'s R50/R101-D8, SPANet '
               'blocks in Faster R-CNN\'s backbone and on its FPN levels.'),
    'plugins': ('Backbone plugins', 'Attention blocks in every bottleneck '
                'of a ResNet (mmcv plugins or mmattn.BackboneWithBlocks), in '
                'mmseg\'s FCN and mmdet\'s Faster R-CNN.'),
    'classification': ('ImageNet and CIFAR classification', 'ResNets with '
                       'attention blocks, trained in mmpretrain, whose '
                       'backbones the plugin configs fine-tune.'),
    'rtmdet': ('RTMDet with SPENet', 'SPENet blocks in RTMDet-tiny\'s '
               'CSPNeXt backbone (mmattn.BackboneWithBlocks).'),
    'yolox': ('YOLOX with CBAM', 'CBAM after the stages of YOLOX-s\'s '
              'CSPDarknet (mmattn.BackboneWithBlocks).'),
    'segformer': ('SegFormer with CBAM', 'CBAM on the token grids of '
                  'SegFormer\'s MiT-B0 (mmattn.BackboneWithBlocks).'),
    'swin': ('Swin with a non-local block', 'A non-local block on the token '
             'grid of Swin-T\'s stages in UPerNet '
             '(mmattn.BackboneWithBlocks).'),
    'timm_pretrained': ('ImageNet-pretrained attention ResNets from timm',
                        'timm\'s weights converted by '
                        'tools/model_converters/timm2mmattn.py (see '
                        'docs/pretrained.md).'),
}

#: Folders whose configs all implement one paper.
FOLDER_PAPER = {'ann': 'ANN', 'ccnet': 'CCNet', 'danet': 'DANet',
                'gcnet': 'GCNet', 'nonlocal': 'NonLocal', 'ocrnet': 'OCRNet',
                'spanet': 'SPANet', 'swin': 'NonLocal'}

#: Paper -> models of the long-range benchmark's segmentation grid.
LONG_RANGE = {'ANN': ['ann'], 'CCNet': ['cc'], 'DANet': ['da'],
              'GCNet': ['gc', 'gc-plugin'], 'NonLocal': ['nl'],
              'OCRNet': ['ocr'],
              'SPANet': ['spa', 'spa-scaled', 'spa-plugin', 'spa-plugin-zero'],
              'SE': ['se'], 'ECA': ['eca'], 'CBAM': ['cbam'],
              'SPENet': ['spenet']}

#: What every written file says of itself (YAML comment, HTML comment).
GENERATED = ('Generated by tools/analysis_tools/model_index.py from the '
             'configs and docs/{flops,deployment,long_range}/*.json: edit '
             'the tool, not this file.')
HEADER = ('# ' + GENERATED.replace(' docs/', '\n# docs/', 1) + '\n')


def _load(path):
    with open(osp.join(ROOT, path)) as f:
        return json.load(f)


def config_folders():
    """``{folder: [config paths relative to ROOT]}``, aliases left out."""
    folders = {}
    for path in sorted(glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))):
        folder = osp.basename(osp.dirname(path))
        if folder != '_base_':
            folders.setdefault(folder, []).append(osp.relpath(path, ROOT))
    return folders


def paper_of(folder, config):
    if folder in FOLDER_PAPER:
        return FOLDER_PAPER[folder]
    name = osp.basename(config)
    for token, paper in TOKENS:
        if token in name:
            return paper
    raise KeyError(f'{config}: no paper found for it; add a token to '
                   f'TOKENS in {__file__}')


def _task(config):
    name = osp.basename(config)
    if 'cityscapes' in name:
        return 'Semantic Segmentation', 'Cityscapes'
    if 'coco' in name:
        return 'Object Detection', 'COCO'
    if 'cifar' in name:
        return 'Image Classification', 'CIFAR-10'
    return 'Image Classification', 'ImageNet-1k'


def bibtex(key):
    title, arxiv, authors, venue, year, _ = PAPERS[key]
    kind = 'article' if venue == 'arXiv' else 'inproceedings'
    where = (f'  journal   = {{arXiv preprint arXiv:{arxiv}}},'
             if venue == 'arXiv' else f'  booktitle = {{{venue}}},')
    return (f'@{kind}{{{key.lower()}{year},\n  title     = {{{title}}},\n'
            f'  author    = {{{authors}}},\n{where}\n  year      = {{{year}}},'
            f'\n  eprint    = {{{arxiv}}},\n  archivePrefix = {{arXiv}}\n}}')


def _collection_name(folder, paper):
    single = folder in FOLDER_PAPER and folder != 'swin'
    return paper if single else f'{paper} ({folder})'


def metafile(folder, configs, flops, kept):
    """The metafile of ``folder``: ``kept`` holds existing entries with
    published weights, by name."""
    collections, models = {}, []
    for config in configs:
        paper = paper_of(folder, config)
        title, arxiv = PAPERS[paper][:2]
        name = osp.splitext(osp.basename(config))[0]
        collection = _collection_name(folder, paper)
        task, data = _task(config)
        if name in kept:
            entry = kept[name]
            collection = entry['In Collection']
        else:
            # no Results: nothing was trained on the real data here
            entry = {'Name': name, 'In Collection': collection,
                     'Config': config,
                     'Metadata': {'Training Data': data}}
            measured = flops.get(config)
            if measured:
                entry['Metadata']['Parameters'] = measured['params']
                entry['Metadata']['FLOPs'] = measured['flops']
            entry['Paper'] = {'Title': title,
                              'URL': f'https://arxiv.org/abs/{arxiv}'}
            entry['Code'] = 'mmattn'
        models.append(entry)
        collections.setdefault(collection, {
            'Name': collection, 'License': 'Apache License 2.0',
            'Metadata': {'Training Data': [data]},
            'Paper': {'Title': title, 'URL': f'https://arxiv.org/abs/{arxiv}'},
            'README': f'configs/{folder}/README.md',
            'Frameworks': ['PyTorch']})
    return {'Collections': list(collections.values()), 'Models': models}


def _export_cell(record):
    if record is None:
        return 'not run'
    if record.get('error'):
        return f"fails: {record['error'][:60]}"
    text = f"verified, max rel. diff {record['max_rel']:.1e}"
    if record.get('task') == 'seg':
        text += f", labels {100 * record['label_agreement']:.3f} % equal"
    return text


def readme(folder, configs, flops, exports, long_range_rows):
    title, what = FOLDERS[folder]
    papers = []
    for config in configs:
        paper = paper_of(folder, config)
        if paper not in papers:
            papers.append(paper)
    lines = [f'<!-- {GENERATED} -->',
             '', f'# {title}', '', what, '']
    for paper in papers:
        ptitle, arxiv, _, venue, year, line = PAPERS[paper]
        lines += [f'> [{ptitle}](https://arxiv.org/abs/{arxiv}) '
                  f'({venue} {year}): {line}.', '']
    lines += ['## Configs', '',
              '| config | task | params (M) | GFLOPs | ONNX export |',
              '|---|---|---:|---:|---|']
    for config in configs:
        measured = flops.get(config)
        params = f"{measured['params'] / 1e6:.2f}" if measured else 'n/a'
        gflops = f"{measured['flops'] / 1e9:.1f}" if measured else 'n/a'
        lines.append(
            f'| [{osp.basename(config)}]({osp.basename(config)}) | '
            f'{_task(config)[0]} | {params} | {gflops} | '
            f'{_export_cell(exports.get(config))} |')
    lines += ['', 'FLOPs: one forward of one image at the config\'s test '
              'size ([docs/flops.md](../../docs/flops.md)); export: '
              '[docs/deployment.md](../../docs/deployment.md). No config '
              'here has been trained on the real dataset by mmattn; the '
              'model zoo ([docs/model_zoo.md](../../docs/model_zoo.md)) '
              'lists the published checkpoints that load into them.', '']
    rows = [(paper, row) for paper in papers
            for row in long_range_rows.get(paper, [])]
    if rows:
        lines += ['## Long-range benchmark', '',
                  'The mechanism on the synthetic long-range benchmark '
                  '(a small ResNet-18, '
                  f"{long_range_rows['_iters']} iterations, mean and 95 % "
                  'bootstrap interval over seeds; the local baseline has '
                  f"mIoU {long_range_rows['_baseline']}): "
                  '[docs/long_range.md](../../docs/long_range.md).', '',
                  '| model | kind | mIoU [95 % CI] | cue accuracy % [95 % CI] '
                  '| seeds |',
                  '|---|---|---:|---:|---:|']
        lines += [row for _, row in rows]
        lines.append('')
    lines += ['## Citation', '', '```bibtex']
    lines += ['\n\n'.join(bibtex(p) for p in papers), '```', '']
    return '\n'.join(lines)


def _long_range_rows():
    from long_range.report import SEG_COLUMNS, ci_cell, summarise
    runs = _load('docs/long_range/results.json')['runs']
    rows = {r['model']: r for r in summarise(runs, SEG_COLUMNS)}
    out = {'_baseline': ci_cell(rows['fcn'], 'mIoU'),
           '_iters': '/'.join(str(i) for i in sorted({r['iters']
                                                      for r in runs}))}
    for paper, models in LONG_RANGE.items():
        out[paper] = [
            f"| {m} | {rows[m]['kind']} | {ci_cell(rows[m], 'mIoU')} | "
            f"{ci_cell(rows[m], 'cue_accuracy')} | {len(rows[m]['seeds'])} |"
            for m in models if m in rows]
    return out


def generate():
    """``{path relative to ROOT: text}`` of every file the tool writes."""
    flops = {r['config']: r for r in _load('docs/flops/flops.json')}
    exports = {r['config']: r
               for r in _load('docs/deployment/export_table.json')}
    long_range_rows = _long_range_rows()
    files, imports = {}, []
    for folder, configs in config_folders().items():
        if folder not in FOLDERS:
            raise KeyError(f'configs/{folder}: describe it in FOLDERS of '
                           f'{__file__}')
        path = f'configs/{folder}/metafile.yaml'
        kept = {}
        if osp.exists(osp.join(ROOT, path)):
            with open(osp.join(ROOT, path)) as f:
                old = yaml.safe_load(f) or {}
            kept = {m['Name']: m for m in old.get('Models', [])
                    if 'Weights' in m}
        meta = metafile(folder, configs, flops, kept)
        if kept:  # the model zoo's collections, with their own README
            names = {m['In Collection'] for m in kept.values()}
            meta['Collections'] = [c for c in old['Collections']
                                   if c['Name'] in names] + [
                c for c in meta['Collections'] if c['Name'] not in names]
        files[path] = HEADER + yaml.safe_dump(meta, sort_keys=False,
                                              allow_unicode=True)
        files[f'configs/{folder}/README.md'] = readme(
            folder, configs, flops, exports, long_range_rows)
        imports.append(path)
    files['model-index.yml'] = HEADER + yaml.safe_dump(
        {'Import': imports}, sort_keys=False)
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n\n'.join(__doc__.split('\n\n')[2:]))
    parser.add_argument('--check', action='store_true',
                        help='write nothing; exit 1 where a file differs')
    args = parser.parse_args(argv)
    stale = []
    for path, text in generate().items():
        full = osp.join(ROOT, path)
        current = open(full).read() if osp.exists(full) else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            with open(full, 'w') as f:
                f.write(text)
    verb = 'differ from the generated text' if args.check else 'written'
    print(f'{len(stale)} files {verb}' + ''.join(f'\n  {p}' for p in stale))
    return 1 if args.check and stale else 0


if __name__ == '__main__':
    sys.exit(main())
