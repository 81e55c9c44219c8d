"""Convert a timm attention ResNet into an mmattn backbone checkpoint.

    python tools/model_converters/timm2mmattn.py SRC OUT [--model NAME]
        [--random-init] [--seed N]

SRC is a timm model name (``seresnet50.a1_in1k``: timm builds it and
downloads its ImageNet weights, once, into its cache) or a timm checkpoint
file (``.pth``/``.pt``/``.bin``/``.safetensors``), whose architecture
``--model`` names. ``--random-init`` builds the named model without weights
(no download: for tests and for trying the path offline).

OUT gets ``dict(state_dict=..., meta=...)`` with the backbone's keys of the
OpenMMLab ResNet/ResNeXt plus mmattn blocks that the timm model is (see
``mmattn/models/backbones/timm_resnets.py``); the configs in
``configs/timm_pretrained/`` load it as their backbone's
``init_cfg=dict(type='Pretrained', checkpoint=OUT)``. Before writing, the
tool builds that backbone and loads the converted weights into it strictly.
"""
import argparse
import os
import os.path as osp
import sys

import torch

FILE_SUFFIXES = ('.pth', '.pt', '.bin', '.safetensors')


def _import_timm():
    from mmattn.engine import torchvision_standin
    try:
        with torchvision_standin():  # timm imports torchvision at import
            import timm
    except ImportError as err:
        raise SystemExit(f'timm is needed to build a timm model: pip '
                         f'install timm ({err})') from None
    return timm


def _state_of_file(path):
    """The state dict of a timm checkpoint file (a bare state dict, or one
    under ``state_dict``/``model``, as timm's training script saves)."""
    if path.endswith('.safetensors'):
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise ValueError(f'SRC {path}: reading .safetensors needs the '
                             f'safetensors package (pip install '
                             f'safetensors)') from None
        return load_file(path)
    state = torch.load(path, map_location='cpu', weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f'{path} holds a {type(state).__name__}, not a '
                         f'state dict')
    for key in ('state_dict', 'model'):
        if isinstance(state.get(key), dict):
            state = state[key]
            break
    # timm's distributed training saves 'module.'-prefixed keys
    return {k[7:] if k.startswith('module.') else k: v
            for k, v in state.items()}


def timm_state(src, model=None, random_init=False, seed=0):
    """(architecture name, state dict, meta) of ``src``: a timm model name
    or a checkpoint file (``model`` names its architecture)."""
    from mmattn.models.backbones.timm_resnets import timm_architecture
    is_file = osp.isfile(src) or src.endswith(FILE_SUFFIXES)
    if is_file:
        if not osp.isfile(src):
            raise FileNotFoundError(f'SRC {src}: no such file')
        if model is None:
            raise ValueError(f'SRC {src} is a checkpoint file: give its '
                             f'architecture with --model (e.g. seresnet50)')
        if random_init:
            raise ValueError('--random-init builds a timm model by name; '
                             f'SRC {src} is a file')
        name = model
        timm_architecture(name)  # says why before anything is read
        state = _state_of_file(src)
        meta = dict(timm_model=name, source=osp.abspath(src))
    else:
        if model is not None and model != src:
            raise ValueError(f'--model {model} is for a checkpoint file; '
                             f'SRC {src} is a timm model name already')
        name = src
        timm_architecture(name)
        timm = _import_timm()
        torch.manual_seed(seed)
        net = timm.create_model(name, pretrained=not random_init)
        state = net.state_dict()
        meta = dict(timm_model=name, timm_version=timm.__version__,
                    pretrained=not random_init)
        if random_init:
            meta['seed'] = seed
    return name, state, meta


def check_loads(state_dict, name):
    """Build the mmattn backbone of ``name`` and load ``state_dict`` into
    it strictly; a mismatch raises, listing the keys."""
    import mmattn  # noqa: F401  (registers the blocks)
    import mmseg.models  # noqa: F401  (registers mmseg's ResNets)
    from mmattn.models.backbones.timm_resnets import timm_backbone_cfg
    from mmattn.registry import MODELS
    backbone = MODELS.build(timm_backbone_cfg(
        name, 'mmseg', norm_cfg=dict(type='BN', requires_grad=True)))
    ours = set(backbone.state_dict())
    missing, unexpected = sorted(ours - set(state_dict)), sorted(
        set(state_dict) - ours)
    if missing or unexpected:
        raise ValueError(
            f'the converted {name} does not fit its mmattn backbone: '
            f'missing {missing[:8]}{"..." if len(missing) > 8 else ""}, '
            f'unexpected {unexpected[:8]}'
            f'{"..." if len(unexpected) > 8 else ""}')
    backbone.load_state_dict(state_dict, strict=True)  # shapes too


def convert(src, out, model=None, random_init=False, seed=0):
    """Convert ``src`` and write ``out``; returns the number of tensors."""
    import mmattn
    from mmattn.models.backbones.timm_resnets import convert_timm_resnet
    name, state, meta = timm_state(src, model, random_init, seed)
    converted = convert_timm_resnet(state, name)
    check_loads(converted, name)
    meta['mmattn_version'] = mmattn.__version__
    if osp.dirname(out):
        os.makedirs(osp.dirname(out), exist_ok=True)
    torch.save(dict(state_dict=converted, meta=meta), out)
    return len(converted)


def main(argv=None):
    from mmattn.models.backbones.timm_resnets import TIMM_RESNETS
    architectures = ', '.join(TIMM_RESNETS)
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n\n'.join(__doc__.split('\n\n')[2:]) +
        f'\nArchitectures: {architectures}. Others say why they do not '
        f'map.')
    parser.add_argument('src', help='timm model name (e.g. '
                        'seresnet50.a1_in1k) or timm checkpoint file')
    parser.add_argument('out', help='the mmattn checkpoint to write')
    parser.add_argument('--model', help='architecture of a checkpoint file '
                        '(e.g. seresnet50)')
    parser.add_argument('--random-init', action='store_true',
                        help='build the timm model without weights (no '
                        'download)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of --random-init (default 0)')
    args = parser.parse_args(argv)
    try:
        count = convert(args.src, args.out, args.model, args.random_init,
                        args.seed)
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    print(f'wrote {args.out}: {count} tensors of the mmattn backbone of '
          f'{args.model or args.src}; load it with init_cfg=dict('
          f"type='Pretrained', checkpoint='{args.out}')")
    return 0


if __name__ == '__main__':
    sys.exit(main())
