"""Rewrite a checkpoint you trust so it loads under ``weights_only=True``.

mmattn refuses checkpoints that carry pickled objects outside its allow-list
(see ``mmattn/engine/checkpoint/safe_load.py``); checkpoints written by
mmengine without mmattn load as they are (their ``getattr(HistoryBuffer,
...)`` lookups are admitted), but other tools may add their own objects. If
you trust such a file, this tool unpickles it
**fully (arbitrary code can run: only for files you trust)** and writes a
copy holding only what the allow-list admits:

    python tools/convert_checkpoint.py IN.pth OUT.pth --trust [--weights-only]

``--weights-only`` keeps ``state_dict`` and ``meta`` alone (for evaluation and
fine-tuning); otherwise the training state is kept too, with the message hub
rewritten into mmattn's clean form, so ``--resume`` works from OUT.
"""
import argparse
import sys

import torch


def convert(src, dst, weights_only=False):
    """Load ``src`` without restrictions and save the allow-listed part."""
    import mmattn.runtime  # HistoryBuffer pickles without getattr
    mmattn.runtime.install()
    ckpt = torch.load(src, map_location='cpu', weights_only=False)
    if not isinstance(ckpt, dict):
        raise TypeError(f'{src} holds a {type(ckpt).__name__}, not a dict')
    if 'state_dict' not in ckpt:  # a bare state dict
        ckpt = dict(state_dict=ckpt)
    if weights_only:
        ckpt = {k: ckpt[k] for k in ('state_dict', 'meta') if k in ckpt}
    torch.save(ckpt, dst)
    # prove the result passes the allow-list before telling the user so
    from mmengine.runner.checkpoint import _load_checkpoint
    _load_checkpoint(dst, map_location='cpu')
    return sorted(ckpt)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src')
    parser.add_argument('dst')
    parser.add_argument('--trust', action='store_true',
                        help='required: you trust SRC (unpickling it can run '
                        'arbitrary code)')
    parser.add_argument('--weights-only', action='store_true',
                        help='keep only state_dict and meta')
    args = parser.parse_args(argv)
    if not args.trust:
        parser.error('--trust is required: converting unpickles SRC without '
                     'restrictions; only do it for files you trust')
    keys = convert(args.src, args.dst, args.weights_only)
    print(f'wrote {args.dst} with {", ".join(keys)}; it loads under '
          'weights_only=True')


if __name__ == '__main__':
    sys.exit(main())
