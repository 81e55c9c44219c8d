"""tools/analysis_tools/get_flops.py: whole-model FLOPs with the attention
matmuls counted, checked against the attention's formula, and the CLI."""
import os.path as osp
import subprocess
import sys

import pytest
from helpers import ROOT, config_path

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
from get_flops import measure  # noqa: E402


@pytest.mark.filterwarnings('ignore')
def test_danet_attention_matmuls_are_counted_exactly():
    """PAM: P x P energies over C/8 key channels and P x P x C outputs; CAM:
    two C x C x P products (P positions of the stride-8 map, C = 512)."""
    result = measure(config_path('danet',
                                 'danet_r50-d8_4xb2-80k_cityscapes-512x1024'
                                 '.py'), (64, 128), with_mmengine=True)
    p, c = (64 // 8) * (128 // 8), 512
    multiply_adds = p * p * (c // 8) + p * p * c + 2 * c * c * p
    assert result['matmul_flops'] == 2 * multiply_adds
    assert result['flops'] > result['matmul_flops']
    # mmengine's counter sees the same model (within its own conventions)
    assert result['mmengine_flops'] == pytest.approx(result['flops'],
                                                     rel=0.05)


def test_cli_prints_a_row_per_config():
    done = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'analysis_tools',
                                  'get_flops.py'),
         config_path('plugins',
                     'fcn_r18-d8-insert-se_4xb2-80k_cityscapes-512x1024.py'),
         '--shape', '64', '96', '--no-mmengine'],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines()
            if line.startswith('| fcn_r18')]
    assert len(rows) == 1 and '| 64x96 |' in rows[0]
    assert rows[0].endswith('| not run |')


def test_cli_names_a_missing_config(tmp_path):
    done = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'analysis_tools',
                                  'get_flops.py'), str(tmp_path / 'no.py')],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1 and 'config: no such file' in done.stderr


@pytest.mark.filterwarnings('ignore')
def test_classifier_is_measured_at_its_datasets_size():
    """mmpretrain configs: the classifier's forward (backbone, neck, head)
    at 224x224, or 32x32 for CIFAR. The CIFAR ResNet-164's FLOPs are its
    convolutions' multiply-adds, counted here from the built model."""
    import torch
    result = measure(config_path('classification',
                                 'resnet164-spenet_1xb128-164e_cifar10.py'),
                     with_mmengine=True)
    assert result['task'] == 'cls' and result['shape'] == [32, 32]
    from get_flops import load_classifier
    model, _ = load_classifier(config_path(
        'classification', 'resnet164-spenet_1xb128-164e_cifar10.py'))
    sizes = {}

    def record(module, args, out):
        sizes[module] = out.shape[2] * out.shape[3]
    hooks = [m.register_forward_hook(record) for m in model.modules()
             if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model(torch.zeros(1, 3, 32, 32), mode='tensor')
    for hook in hooks:
        hook.remove()
    conv_multiply_adds = sum(m.weight.numel() * sizes[m] for m in sizes)
    assert result['by_op']['aten.convolution'] == 2 * conv_multiply_adds
    assert result['params'] == sum(p.numel() for p in model.parameters())
