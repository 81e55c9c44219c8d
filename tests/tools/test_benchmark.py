"""The benchmark harness: FLOPs with matmuls, CPU peak memory, the CLI.

No timing assertions (times are noisy): structure, FLOPs and memory only.
"""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from mmattn.benchmark import (FORWARD, FORWARD_BACKWARD, Entry, Result,
                              count_flops, count_params, flops_by_op,
                              format_table, peak_memory, register_flops,
                              results_to_json, run_benchmark, time_fn,
                              time_runs)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLI = osp.join(ROOT, 'tools', 'benchmark.py')
MiB = 2**20
RESULT_KEYS = {
    'name', 'mode', 'median_ms', 'peak_mem_mb', 'params_m', 'gflops',
    'input_shape', 'flops', 'flops_by_op', 'peak_mem_bytes', 'params',
    'times_ms', 'time_ratio', 'mem_ratio'
}


def load_cli():
    spec = importlib.util.spec_from_file_location('mmattn_benchmark_cli', CLI)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mm_flops(n, k, m, batch=1):
    """(batch, n, k) @ (batch, k, m): one multiply and one add per term."""
    return 2 * batch * n * k * m


def conv_flops_by_hooks(module, fn):
    """FLOPs of every nn.Conv2d of ``module`` during ``fn()``, from hooks."""
    total = []

    def hook(m, inputs, out):
        kh, kw = m.kernel_size
        total.append(2 * out.numel() * (m.in_channels // m.groups) * kh * kw)

    handles = [
        m.register_forward_hook(hook) for m in module.modules()
        if isinstance(m, nn.Conv2d)
    ]
    try:
        with torch.no_grad():
            fn()
    finally:
        for h in handles:
            h.remove()
    return sum(total)


# --------------------------------------------------------------------------
# FLOPs
# --------------------------------------------------------------------------
class MatmulAttention(nn.Module):
    """q^T k with ``@``, then the context with ``einsum`` (no conv)."""

    def forward(self, q, k, v):
        attn = (q.transpose(1, 2) @ k).softmax(-1)  # (B, N, M)
        return torch.einsum('bcm,bnm->bcn', v, attn)  # (B, C, N)


def test_count_flops_counts_matmul_and_einsum():
    b, d, c, n, m = 2, 8, 16, 12, 20
    q, k, v = torch.randn(b, d, n), torch.randn(b, d, m), torch.randn(b, c, m)
    attn = MatmulAttention()
    expected = mm_flops(n, d, m, b) + mm_flops(c, m, n, b)
    assert count_flops(lambda: attn(q, k, v)) == expected
    by_op = flops_by_op(lambda: attn(q, k, v))
    assert by_op == {'aten.bmm': expected}


def test_count_flops_bmm_mm_linear_4d_matmul():
    a, b = torch.randn(3, 5, 7), torch.randn(3, 7, 4)
    assert count_flops(lambda: torch.bmm(a, b)) == mm_flops(5, 7, 4, 3)
    x, y = torch.randn(2, 3, 5, 7), torch.randn(2, 3, 7, 4)
    assert count_flops(lambda: x @ y) == mm_flops(5, 7, 4, 6)
    assert count_flops(lambda: torch.einsum('bhnk,bhkm->bhnm', x, y)) == \
        mm_flops(5, 7, 4, 6)
    lin = nn.Linear(7, 9)
    assert count_flops(lambda: lin(torch.randn(10, 7))) == mm_flops(10, 7, 9)


def test_count_flops_sdpa_on_cpu():
    b, h, n, d = 1, 2, 16, 8
    q, k, v = (torch.randn(b, h, n, d) for _ in range(3))
    # scores q k^T and the context (scores) v: two matmuls of n x d x n
    expected = 2 * mm_flops(n, d, n, b * h)
    assert count_flops(
        lambda: F.scaled_dot_product_attention(q, k, v)) == expected


def test_count_flops_includes_backward():
    a = torch.randn(6, 5, requires_grad=True)
    w = torch.randn(5, 4, requires_grad=True)

    def step():
        (a @ w).sum().backward()

    # forward, grad of a and grad of w: three matmuls of the same size
    assert count_flops(step) == 3 * mm_flops(6, 5, 4)


def test_register_flops_for_a_custom_op():
    lib = torch.library.Library('mmattn_bench_test', 'DEF')
    lib.define('scale2(Tensor x) -> Tensor')
    lib.impl('scale2', lambda x: x * 2, 'CPU')
    op = torch.ops.mmattn_bench_test.scale2
    x = torch.randn(3, 5)
    assert count_flops(lambda: op(x)) == 0  # unknown to the counter
    register_flops(op, lambda x, out_val=None: x.numel())
    assert count_flops(lambda: op(x)) == 15


def test_count_params_counts_shared_once():
    lin = nn.Linear(4, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert count_params(seq) == 4 * 3 + 3


# --------------------------------------------------------------------------
# memory and time
# --------------------------------------------------------------------------
def test_cpu_peak_memory_sees_a_known_allocation():
    nbytes = 8 * MiB

    def fn():
        return torch.empty(nbytes, dtype=torch.uint8)

    peak = peak_memory(fn, 'cpu')
    assert nbytes <= peak < nbytes + MiB


def test_cpu_peak_memory_freed_temporaries_do_not_accumulate():
    chunk = 2 * MiB

    def fn():
        kept = torch.ones(chunk, dtype=torch.uint8)
        for _ in range(20):
            tmp = torch.ones(chunk, dtype=torch.uint8)
            del tmp
        return kept

    peak = peak_memory(fn, 'cpu')
    # kept + one temporary at a time, not 21 chunks
    assert 2 * chunk <= peak < 3 * chunk


def test_cpu_peak_memory_of_a_matmul_chain():
    n = 512
    a = torch.randn(n, n)  # allocated before: not part of the peak

    def fn():
        b = a @ a  # 1 MiB
        c = b @ b  # 1 MiB, b still alive
        return c.sum()

    peak = peak_memory(fn, 'cpu')
    assert 2 * n * n * 4 <= peak < 3 * n * n * 4


def test_time_fn_returns_the_median_of_runs():
    calls = []
    times = time_runs(lambda: calls.append(1), warmup=2, runs=3)
    assert len(times) == 3 and len(calls) == 5
    assert time_fn(lambda: None, warmup=0, runs=1) >= 0


# --------------------------------------------------------------------------
# the runner and the table
# --------------------------------------------------------------------------
def test_run_benchmark_on_a_linear_layer():
    entries = [
        Entry('small', lambda: nn.Linear(32, 16), lambda: torch.randn(8, 32)),
        Entry('big', lambda: nn.Linear(32, 64), lambda: torch.randn(8, 32)),
    ]
    results = run_benchmark(entries, warmup=0, runs=2)
    assert [(r.name, r.mode) for r in results] == [
        ('small', FORWARD), ('big', FORWARD), ('small', FORWARD_BACKWARD),
        ('big', FORWARD_BACKWARD)
    ]
    fwd = {r.name: r for r in results if r.mode == FORWARD}
    bwd = {r.name: r for r in results if r.mode == FORWARD_BACKWARD}
    assert fwd['small'].flops == mm_flops(8, 32, 16)
    assert fwd['big'].flops == mm_flops(8, 32, 64)
    # backward: grad of the input and of the weight, one matmul each
    assert bwd['big'].flops == 3 * mm_flops(8, 32, 64)
    assert fwd['big'].params == 32 * 64 + 64
    assert fwd['big'].input_shape == '8x32'
    # the forward output (8x64 floats) is alive at the end of the call
    assert fwd['big'].peak_mem_bytes >= 8 * 64 * 4
    # forward+backward allocates at least the weight gradient
    assert bwd['big'].peak_mem_bytes >= 32 * 64 * 4
    assert all(len(r.times_ms) == 2 and r.median_ms > 0 for r in results)

    table = format_table(results)
    lines = table.splitlines()
    assert len(lines) == 2 + len(results)
    assert 'GFLOPs' in lines[0] and 'time x' in lines[0] \
        and 'mem x' in lines[0]
    small_row = [c.strip() for c in lines[2].strip('|').split('|')]
    assert small_row[-2:] == ['1.00', '1.00']  # the anchor
    # a single implementation has no ratio columns
    assert 'time x' not in format_table(results[:1])

    data = results_to_json(results, baseline='big')
    assert data['meta']['baseline'] == 'big'
    rows = data['results']
    assert RESULT_KEYS <= set(rows[0])
    assert rows[1]['mem_ratio'] == pytest.approx(1.0)
    assert rows[0]['time_ratio'] == pytest.approx(
        rows[0]['median_ms'] / rows[1]['median_ms'])


def test_format_table_ratios_against_the_baseline():
    results = [
        Result('a', FORWARD, 10.0, 100.0, 1.0, 2.0, '1x1'),
        Result('b', FORWARD, 20.0, 50.0, 1.0, 4.0, '1x1'),
    ]
    rows = format_table(results, baseline='b').splitlines()[2:]
    cells = [[c.strip() for c in r.strip('|').split('|')] for r in rows]
    assert cells[0][-2:] == ['0.50', '2.00']
    assert cells[1][-2:] == ['1.00', '1.00']
    with pytest.raises(ValueError):
        format_table(results, baseline='c')


# --------------------------------------------------------------------------
# the CLI on mmseg modules
# --------------------------------------------------------------------------
def da_head_matmul_flops(batch, h, w, channels=512, pam_channels=64):
    hw = h * w
    pam = (mm_flops(hw, pam_channels, hw, batch) +  # query^T key
           mm_flops(hw, hw, channels, batch))  # attention @ value
    cam = (mm_flops(channels, hw, channels, batch) +  # x x^T
           mm_flops(channels, channels, hw, batch))  # attention @ x
    return pam + cam


def table_rows(text):
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) >= 7 and cells[1] in (FORWARD, FORWARD_BACKWARD):
            rows[(cells[0], cells[1])] = cells
    return rows


def test_cli_da_head_counts_the_attention_matmuls(tmp_path):
    out = tmp_path / 'da_head.json'
    proc = subprocess.run(
        [
            sys.executable, CLI, '--case', 'da_head', '--size', '8x16',
            '--runs', '1', '--warmup', '0', '--json',
            str(out)
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = table_rows(proc.stdout)
    assert set(rows) == {('DAHead', FORWARD), ('DAHead', FORWARD_BACKWARD)}

    data = json.loads(out.read_text())
    assert data['meta']['cases'] == ['da_head']
    results = {r['mode']: r for r in data['results']}
    assert set(results) == {FORWARD, FORWARD_BACKWARD}
    for r in results.values():
        assert RESULT_KEYS <= set(r)
        assert r['input_shape'] == '1x2048x8x16'
        assert r['peak_mem_bytes'] > 0 and r['median_ms'] > 0

    # conv-only FLOPs of the same head, counted independently by hooks
    from mmattn.benchmark.cases import get_case
    entry, = get_case('da_head').entries((8, 16), 1)
    head, inputs = entry.make_module().eval(), entry.make_inputs()
    conv = conv_flops_by_hooks(head, lambda: head(inputs))
    matmul = da_head_matmul_flops(1, 8, 16)
    fwd = results[FORWARD]
    assert fwd['flops'] == conv + matmul
    assert fwd['flops_by_op']['aten.bmm'] == matmul
    assert fwd['params'] == count_params(head)
    # the printed table shows the same FLOPs, above the conv-only count
    printed = float(rows[('DAHead', FORWARD)][6])
    assert printed == pytest.approx((conv + matmul) / 1e9, abs=6e-4)
    assert printed > conv / 1e9 + 0.1
    # forward+backward adds the backward's convs and matmuls
    assert results[FORWARD_BACKWARD]['flops'] > 2 * fwd['flops']


def test_cli_nonlocal_case_compares_side_by_side(tmp_path, capsys):
    cli = load_cli()
    out = tmp_path / 'nonlocal.json'
    assert cli.main([
        '--case', 'nonlocal', '--size', '4x8', '--mode', 'forward',
        '--runs', '1', '--warmup', '0', '--quiet', '--json',
        str(out)
    ]) == 0
    text = capsys.readouterr().out
    assert 'time x' in text and 'mem x' in text
    rows = table_rows(text)
    assert set(rows) == {('NonLocal2d', FORWARD), ('PAM', FORWARD)}
    assert rows[('NonLocal2d', FORWARD)][-2:] == ['1.00', '1.00']
    data = json.loads(out.read_text())
    by_name = {r['name']: r for r in data['results']}
    hw = 4 * 8
    # NonLocal2d (reduction 2): theta^T phi then attention @ g at 256 channels
    assert by_name['NonLocal2d']['flops_by_op']['aten.bmm'] == \
        mm_flops(hw, 256, hw) + mm_flops(hw, hw, 256)
    assert by_name['PAM']['flops_by_op']['aten.bmm'] == \
        mm_flops(hw, 64, hw) + mm_flops(hw, hw, 512)


def test_cli_ad_hoc_modules_and_plot(tmp_path, capsys):
    cli = load_cli()
    out, png = tmp_path / 'm.json', tmp_path / 'm.png'
    assert cli.main([
        '--module', "dict(type='NonLocal2d', in_channels=16)", '--module',
        "dict(type='mmseg.models.decode_heads.da_head.PAM', in_channels=16, "
        'channels=4)', '--shape', '2x16x4x4', '--compare', '--mode',
        'backward', '--runs', '1', '--warmup', '0', '--quiet', '--json',
        str(out), '--plot',
        str(png), '--names', 'nl,pam', '--baseline', 'pam', '--sequential'
    ]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert set(rows) == {('nl', FORWARD_BACKWARD), ('pam', FORWARD_BACKWARD)}
    assert rows[('pam', FORWARD_BACKWARD)][-2:] == ['1.00', '1.00']
    data = json.loads(out.read_text())
    assert data['meta']['baseline'] == 'pam'
    assert [r['input_shape'] for r in data['results']] == ['2x16x4x4'] * 2
    assert png.stat().st_size > 0

    with pytest.raises(SystemExit):
        cli.main([
            '--module', "dict(type='NonLocal2d', in_channels=16)", '--shape',
            '1x16x4x4', '--compare', '--quiet'
        ])
    with pytest.raises(SystemExit):
        cli.parse_args(['--module', "__import__('os')", '--shape', '1x1'])


TINY_SEG_CONFIG = """
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    backbone=dict(
        type='ResNetV1c', depth=18, stem_channels=16, base_channels=8,
        num_stages=4, out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1), norm_cfg=norm_cfg),
    decode_head=dict(
        type='DAHead', in_channels=64, in_index=3, channels=16,
        pam_channels=4, num_classes=3, norm_cfg=norm_cfg,
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)))
default_scope = 'mmseg'
"""


def test_cli_whole_model_from_a_config(tmp_path, capsys):
    cfg = tmp_path / 'tiny_danet.py'
    cfg.write_text(TINY_SEG_CONFIG)
    cli = load_cli()
    out = tmp_path / 'model.json'
    assert cli.main([
        '--config',
        str(cfg), '--size', '32x32', '--runs', '1', '--warmup', '0',
        '--quiet', '--json',
        str(out)
    ]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert set(rows) == {('tiny_danet', FORWARD),
                         ('tiny_danet', FORWARD_BACKWARD)}
    data = json.loads(out.read_text())
    fwd = data['results'][0]
    assert fwd['input_shape'] == '1x3x32x32'
    # the head's attention runs on the 1/8 feature map (4x4 = 16 positions)
    hw = 16
    pam_cam = (mm_flops(hw, 4, hw) + mm_flops(hw, hw, 16) +
               2 * mm_flops(16, hw, 16))
    assert fwd['flops_by_op']['aten.bmm'] == pam_cam
    assert fwd['flops_by_op']['aten.convolution'] > 0


def test_spa_block_case_counts_the_salient_matmuls():
    from mmattn.benchmark import flops_by_op, make_step
    from mmattn.benchmark.cases import get_case
    n, c, h, w = 1, 512, 8, 16
    entries = {e.name: e for e in get_case('spa_block').entries((h, w), n)}
    assert list(entries) == ['PAM', 'NonLocal2d', 'SPA']
    spa = entries['SPA']
    module = spa.make_module().eval()
    by_op = flops_by_op(make_step(module, (spa.make_inputs(), ), FORWARD))
    cp, k, p = c // 2, 8, h * w
    # S @ S^T (C' x k x C'), W @ A (C x C' x C') and (W A) @ g (C x C' x P),
    # 2 FLOPs per multiply-add
    expected_bmm = 2 * n * (cp * k * cp + c * cp * cp + c * cp * p)
    matmul = sum(v for op, v in by_op.items()
                 if op.split('.')[-1] in ('bmm', 'mm', 'matmul', 'baddbmm'))
    assert matmul == expected_bmm


def test_plugins_resnet50_case_builds_each_plugin_into_resnet():
    from mmattn.benchmark import count_params
    from mmattn.benchmark.cases import (CONV_VARIANTS, PLUGIN_VARIANTS,
                                        get_case)
    entries = get_case('plugins_resnet50').entries((32, 32), 1)
    assert [e.name for e in entries] == ['ResNet-50'] + [
        f'+ {name}' for name, _ in PLUGIN_VARIANTS
    ] + [name for name, _ in CONV_VARIANTS]
    by_name = {e.name: e for e in entries}
    from mmattn.blocks.catalog import registered_blocks
    assert len(entries) == 1 + len(registered_blocks())
    sk = by_name['SK conv'].make_module()
    assert len([m for m in sk.modules()
                if type(m).__name__ == 'SelectiveKernelConv']) == 16
    plain = count_params(entries[0].make_module())
    se = by_name['+ SE'].make_module()
    # 16 bottlenecks, each with an SE of 2 * (C * C/16) weights + biases
    expected = sum(2 * c * (c // 16) + c + c // 16
                   for c, n in ((256, 3), (512, 4), (1024, 6), (2048, 3))
                   for _ in range(n))
    assert count_params(se) - plain == expected
    assert len([m for m in se.modules()
                if type(m).__name__ == 'SqueezeExcitation']) == 16


@pytest.mark.parametrize('groups', [1, 4, 16])
def test_conv_backward_flops_respect_groups(groups):
    conv = nn.Conv2d(16, 32, 3, padding=1, groups=groups)
    x = torch.randn(2, 16, 8, 8, requires_grad=True)
    forward = 2 * 2 * 32 * 8 * 8 * (16 // groups) * 9  # 2 FLOPs per MAC
    assert count_flops(lambda: conv(x)) == forward
    # grad_input and grad_weight each repeat every MAC of the forward
    assert count_flops(lambda: conv(x).sum().backward()) == 3 * forward


@pytest.mark.parametrize('case', [
    'pam_block', 'nonlocal_block', 'cam_block', 'cca_block', 'gc_block',
    'se_block', 'eca_block', 'cbam_block'
])
def test_block_pair_cases_run_the_same_mechanism(case):
    """Each comparison case builds both sides, at a tiny size, with equal
    parameter counts and output shapes (the same mechanism on both sides)."""
    from mmattn.benchmark import count_params
    from mmattn.benchmark.cases import get_case
    entries = get_case(case).entries((5, 7), 2)
    params, shapes = set(), set()
    for entry in entries:
        module, x = entry.make_module(), entry.make_inputs()
        params.add(count_params(module))
        shapes.add(tuple(module(x).shape))
    assert len(entries) >= 2 and len(params) == 1 and shapes == {tuple(x.shape)}


@pytest.mark.parametrize('case', [
    'da_head_pair', 'nl_head_pair', 'cc_head_pair', 'gc_head_pair',
    'ann_head_pair', 'ocr_head_pair', 'context_whole_image'
])
def test_head_pair_cases_build_ours_and_mmseg(case):
    from mmattn.benchmark import count_params
    from mmattn.benchmark.cases import get_case
    entries = get_case(case).entries((6, 5), 1)
    modules = [e.make_module() for e in entries]
    kinds = {type(m).__module__.split('.')[0] for m in modules}
    # OCR entries wrap the head; look inside
    kinds |= {type(getattr(m, 'head', m)).__module__.split('.')[0]
              for m in modules}
    assert {'mmattn', 'mmseg'} <= kinds
    for ours, theirs in zip(modules[::2], modules[1::2]):
        assert count_params(ours) == count_params(theirs)


def test_inplace_accumulating_products_are_counted():
    a, b = torch.randn(2, 3, 4), torch.randn(2, 4, 5)
    c = torch.zeros(2, 3, 5)
    assert count_flops(lambda: c.baddbmm_(a, b)) == 2 * 2 * 3 * 4 * 5
    m, x, y = torch.zeros(3, 5), torch.randn(3, 4), torch.randn(4, 5)
    assert count_flops(lambda: m.addmm_(x, y)) == 2 * 3 * 4 * 5


def test_chunked_attention_backward_flops_include_its_recompute():
    """The chunked op's hand-written backward is counted in full: the
    reference's backward plus the recomputed q k^T."""
    from mmattn.ops import dot_product_attention
    q, k = (torch.randn(2, 40, 8, requires_grad=True) for _ in range(2))
    v = torch.randn(2, 40, 16, requires_grad=True)

    def fwd_bwd(impl):
        return count_flops(lambda: dot_product_attention(
            q, k, v, impl=impl, chunk_size=7).sum().backward())

    qk = 2 * 2 * 40 * 40 * 8
    assert fwd_bwd('chunked') == fwd_bwd('reference') + qk


def test_only_keeps_the_anchor_and_the_matching_rows():
    """``--only`` adds rows to a table without re-measuring the others;
    the anchor (first row) always stays; a pattern matching nothing, or not
    a regular expression, is refused naming it."""
    cli = load_cli()
    entries = cli.collect_entries(cli.parse_args(
        ['--case', 'plugins_resnet50', '--only', r'^\+ (BAT|SE)$|halo']))
    assert [e.name for e in entries] == ['ResNet-50', '+ SE', '+ BAT',
                                         'halo']
    with pytest.raises(SystemExit, match=r"--only 'nothing' matches none"):
        cli.collect_entries(cli.parse_args(
            ['--case', 'plugins_resnet50', '--only', 'nothing']))
    with pytest.raises(SystemExit, match=r"--only '\(' is not a regular"):
        cli.collect_entries(cli.parse_args(
            ['--case', 'plugins_resnet50', '--only', '(']))
