"""One-command GPU check of mmattn; run it through ``tools/gpu_check.sh``.

    python tools/analysis_tools/gpu_check.py [--device cuda|cpu] [--tiny]
        [--json FILE] [--budget SECONDS]

Made for the machine such a check gets: a bare, offline CUDA machine with
torch and Triton but no OpenMMLab packages, for a few minutes. It needs torch
only for the ops; the blocks also need mmengine and mmcv's Python part
(mmcv-lite), which ``tools/gpu_check.sh --prepare DIR`` downloads as
pure-Python wheels. mmattn is imported without its package ``__init__``
(which registers the mmseg/mmdet models), so nothing else is needed.

Sections, each a row of one summary table (PASS / FAIL / SKIP and what was
measured):

1. ``salient_select``: the CUDA kernel (Triton saliency) against the generic
   torch kernel (same indices, same values, same gradients) in float32,
   float16 and bfloat16, contiguous and channels_last-like strides.
2. ``dot_product_attention``: every implementation (sdpa, chunked, auto,
   reference) in float32/float16/bfloat16 against the float64 formula,
   forward and gradients, with PAM-like widths (64-wide keys, 512-wide
   values) and equal widths.
3. Blocks: every registered block on the device in float32 against its
   float64 CPU copy, and under fp16/bf16 autocast with large inputs (finite,
   close to float32).
4. Benchmarks (ratios measured in the same run): SPANet's block against
   DANet's PAM and NonLocal (forward + backward time, peak memory), and the
   salient-select kernel against ``topk`` + ``gather``.
5. mmseg / mmdet: built and run one training step when they import; they
   need mmcv's compiled ops (``mmcv._ext``), which mmcv-lite lacks, so on
   the bare machine this is a SKIP line saying so.

6. mmcv ops (with ``--mmcv-wheel FILE``, a wheel of ``tools/build_mmcv.py``
   or ``tools/check_cuda_build.sh``): the wheel is installed into a private
   folder only when it was built for this machine's torch (read here, never
   assumed: the GPU machine's torch may differ from ours; a mismatch is a
   SKIP row naming both). Its RoIAlign, NMS and criss-cross attention on the
   device are compared with the same ops on CPU.

Without CUDA every CUDA row is a SKIP and the exit status is 0; ``--device
cpu --tiny`` runs the same checks on CPU at small sizes (what the test suite
does). The exit status is 1 when any row FAILs.
"""
import argparse
import importlib
import json
import math
import os.path as osp
import sys
import time
import traceback
import types

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class Report:
    """The rows of the summary table."""

    def __init__(self, budget):
        self.rows = []
        self.start = time.time()
        self.budget = budget

    def add(self, section, check, status, detail=''):
        self.rows.append(dict(section=section, check=check, status=status,
                              detail=detail))
        print(f'[{status}] {section}: {check} {detail}', flush=True)

    def out_of_time(self):
        return time.time() - self.start > self.budget

    def run(self, section, check, fn):
        """Run ``fn() -> detail`` as one row; an exception is a FAIL."""
        if self.out_of_time():
            self.add(section, check, 'SKIP', f'time budget of '
                     f'{self.budget:.0f} s spent')
            return
        try:
            detail = fn()
        except SkipCheck as skip:
            self.add(section, check, 'SKIP', str(skip))
        except Exception as err:  # one failing check must not stop the rest
            last = traceback.format_exc().strip().splitlines()[-3:]
            self.add(section, check, 'FAIL',
                     f'{type(err).__name__}: {err}'[:300] + ' | ' +
                     ' / '.join(line.strip() for line in last)[:300])
        else:
            self.add(section, check, 'PASS', detail or '')

    def table(self):
        widths = [max(len(r[k]) for r in self.rows + [dict(
            section='section', check='check', status='status')])
                  for k in ('section', 'check', 'status')]
        lines = ['', 'mmattn GPU check summary '
                 f'({time.time() - self.start:.0f} s)']
        header = ('section'.ljust(widths[0]), 'check'.ljust(widths[1]),
                  'status'.ljust(widths[2]), 'detail')
        lines.append(' | '.join(header))
        lines.append('-+-'.join('-' * w for w in widths + [40]))
        for r in self.rows:
            lines.append(' | '.join((r['section'].ljust(widths[0]),
                                     r['check'].ljust(widths[1]),
                                     r['status'].ljust(widths[2]),
                                     r['detail'])))
        counts = {s: sum(r['status'] == s for r in self.rows)
                  for s in ('PASS', 'FAIL', 'SKIP')}
        lines.append(f'{counts["PASS"]} passed, {counts["FAIL"]} failed, '
                     f'{counts["SKIP"]} skipped')
        return '\n'.join(lines)


class SkipCheck(Exception):
    """A check that cannot run here; the message says why."""


def import_mmattn_parts():
    """``mmattn`` as a bare package: its submodules import, its
    ``__init__`` (which needs mmseg and mmdet) does not run."""
    if 'mmattn' not in sys.modules:
        package = types.ModuleType('mmattn')
        package.__path__ = [osp.join(ROOT, 'mmattn')]
        sys.modules['mmattn'] = package
    return importlib.import_module('mmattn.ops')


def _max_relative(a, b):
    a, b = a.double().cpu(), b.double().cpu()
    if a.numel() == 0:
        return 0.0
    return ((a - b).abs().max() / (1 + b.abs().max())).item()


# 1. salient_select -------------------------------------------------------

def check_salient(report, torch, device, tiny):
    ops = import_mmattn_parts()
    salient = importlib.import_module('mmattn.ops.salient')
    section = 'salient_select'
    if device == 'cuda':
        triton_mod = importlib.import_module('mmattn.ops._salient_triton')
        if not triton_mod.AVAILABLE:
            report.add(section, 'triton', 'FAIL', 'Triton is not importable: '
                       'the CUDA kernel falls back to torch')
        else:
            import triton
            report.add(section, 'triton', 'PASS',
                       f'triton {triton.__version__}')
    shapes = ([(2, 8, 6, 5, 7)] if tiny else
              [(2, 64, 32, 32, 16), (4, 512, 64, 128, 64),
               (1, 2048, 64, 64, 512), (2, 96, 37, 53, 100)])
    for dtype_name in ('float32', 'float16', 'bfloat16'):
        dtype = getattr(torch, dtype_name)
        for n, c, h, w, k in shapes:
            for layout in ('contiguous', 'channels_last'):
                def exact(n=n, c=c, h=h, w=w, k=k, layout=layout,
                          dtype=dtype):
                    # small integers: every sum of squares is exact in
                    # float32 whatever the order, so the kernel must agree
                    # bit for bit, ties (many) broken by position
                    g = torch.Generator().manual_seed(0)
                    x = torch.randint(-3, 4, (n, c, h, w), generator=g)
                    x = _layout(torch, x.to(device, dtype), layout)
                    x = x.flatten(2).requires_grad_(True)
                    selected, indices = ops.salient_select(x, k)
                    ref_x = x.detach().clone().requires_grad_(True)
                    ref_sel, ref_idx = salient._select_generic(ref_x, k)
                    if not torch.equal(indices, ref_idx):
                        differ = (indices != ref_idx).float().mean().item()
                        raise AssertionError(f'indices differ at {differ:.2%}'
                                             ' of the places')
                    if not torch.equal(selected, ref_sel):
                        raise AssertionError('selected values differ')
                    grad = torch.randn(selected.shape, generator=g).to(
                        device, dtype)
                    (selected * grad).sum().backward()
                    (ref_sel * grad).sum().backward()
                    if not torch.equal(x.grad, ref_x.grad):
                        raise AssertionError('gradients differ')
                    return 'indices, values and gradients equal'
                report.run(section, f'{dtype_name} {n}x{c}x{h}x{w} k={k} '
                           f'{layout}, integers', exact)

            def normal(n=n, c=c, h=h, w=w, k=k, dtype=dtype):
                # real-valued input: sums differ in their last bits by
                # order, so near-ties may swap; the selected saliencies must
                # equal the top k of the float64 saliencies
                g = torch.Generator().manual_seed(1)
                x = torch.randn(n, c, h * w, generator=g).to(device, dtype)
                _, indices = ops.salient_select(x, k)
                saliency = x.double().square().sum(1)
                chosen = saliency.gather(1, indices).sort(1).values
                best = saliency.topk(k, dim=1).values.sort(1).values
                error = _max_relative(chosen, best)
                if error > 1e-5:
                    raise AssertionError(f'selected saliencies differ from '
                                         f'the top k by {error:.1e}')
                return f'top-k saliencies equal within {error:.1e}'
            report.run(section, f'{dtype_name} {n}x{c}x{h}x{w} k={k} normal',
                       normal)


def _layout(torch, x, layout):
    if layout == 'channels_last':
        return x.contiguous(memory_format=torch.channels_last)
    return x


# 2. dot_product_attention -----------------------------------------------

def check_attention(report, torch, device, tiny):
    ops = import_mmattn_parts()
    attention = importlib.import_module('mmattn.ops.attention')
    section = 'dot_product_attention'
    cases = ([(1, 40, 8, 8), (1, 40, 8, 16)] if tiny else
             [(2, 4096, 64, 64), (2, 4096, 64, 512), (1, 16384, 64, 512)])
    tolerance = dict(float32=2e-3, float16=2e-2, bfloat16=1e-1)
    for dtype_name in ('float32', 'float16', 'bfloat16'):
        dtype = getattr(torch, dtype_name)
        for n, length, dk, dv in cases:
            for impl in attention.IMPLEMENTATIONS:
                def one(n=n, length=length, dk=dk, dv=dv, impl=impl,
                        dtype=dtype, dtype_name=dtype_name):
                    g = torch.Generator().manual_seed(0)
                    q, k, v = (torch.randn(n, length, d, generator=g)
                               for d in (dk, dk, dv))
                    # unscaled energies as PAM's: logits of order sqrt(dk)
                    inputs = [t.to(device, dtype).requires_grad_(True)
                              for t in (q, k, v)]
                    out = ops.dot_product_attention(*inputs, scale=dk**-0.5,
                                                    impl=impl)
                    ref_in = [t.detach().double().requires_grad_(True)
                              for t in inputs]
                    ref = ops.dot_product_attention(*ref_in, scale=dk**-0.5,
                                                    impl='reference')
                    grad = torch.randn(out.shape, generator=g).to(device)
                    (out.float() * grad).sum().backward()
                    (ref * grad.double()).sum().backward()
                    errors = [_max_relative(out, ref)] + [
                        _max_relative(a.grad, b.grad)
                        for a, b in zip(inputs, ref_in)]
                    bound = tolerance[dtype_name]
                    if not all(math.isfinite(e) and e <= bound
                               for e in errors):
                        raise AssertionError(
                            f'relative errors (out, dq, dk, dv) '
                            f'{[f"{e:.2e}" for e in errors]} > {bound}')
                    return f'max relative error {max(errors):.1e}'
                report.run(section, f'{impl} {dtype_name} N={n} L={length} '
                           f'dk={dk} dv={dv}', one)


# 3. blocks ---------------------------------------------------------------

def _import_blocks():
    import_mmattn_parts()
    try:
        catalog = importlib.import_module('mmattn.blocks.catalog')
        importlib.import_module('mmattn.blocks')
    except ImportError as err:
        raise SkipCheck(f'mmattn.blocks needs mmengine and mmcv (mmcv-lite '
                        f'is enough): {err}; prepare them with '
                        'tools/gpu_check.sh --prepare DIR') from None
    return catalog


def check_blocks(report, torch, device, tiny):
    section = 'blocks'
    try:
        catalog = _import_blocks()
    except SkipCheck as skip:
        report.add(section, 'import', 'SKIP', str(skip))
        return
    import copy
    randomise = importlib.import_module('mmattn.testing').randomise
    channels = 32 if tiny else 64
    size = (6, 5) if tiny else (48, 40)
    for cls in catalog.registered_blocks():
        def one(cls=cls):
            kwargs = catalog.plugin_kwargs(cls, small=True)
            torch.manual_seed(0)
            # random weights and BN statistics: a zero-initialised gamma or
            # gate would make the block the identity and hide its errors
            block = randomise(cls(channels, **kwargs)).eval()
            x = torch.randn(2, channels, *size)
            with torch.no_grad():
                ref = copy.deepcopy(block).double()(x.double())
                on_device = copy.deepcopy(block).to(device)
                out = on_device(x.to(device))
            error = _max_relative(out, ref)
            if error > 1e-3:
                raise AssertionError(f'float32 on {device} vs float64: '
                                     f'{error:.2e}')
            details = [f'fp32 {error:.1e}']
            big = (10 * torch.randn(2, channels, *size)).to(device)
            with torch.no_grad():
                full = on_device(big)
            half_types = (('float16', 'bfloat16') if device == 'cuda' else
                          ('bfloat16', ))
            for name in half_types:
                on_device.train()
                x_big = big.clone().requires_grad_(True)
                with torch.autocast(device, dtype=getattr(torch, name)):
                    y = on_device(x_big)
                y.float().square().mean().backward()
                on_device.eval()
                if not (torch.isfinite(y).all()
                        and torch.isfinite(x_big.grad).all()):
                    raise AssertionError(f'{name} autocast: non-finite '
                                         'output or gradient at scale 10')
                with torch.no_grad(), torch.autocast(
                        device, dtype=getattr(torch, name)):
                    y = on_device(big)
                details.append(f'{name} {_max_relative(y, full):.1e}')
            return 'vs float64 / fp32: ' + ', '.join(details)
        report.run(section, cls.__name__, one)


# 4. benchmarks -----------------------------------------------------------

def _time_and_memory(device, fn, repeats):
    """Median seconds of ``fn()`` after one warm-up call (Triton and cuDNN
    autotune there) and its peak memory in bytes (CUDA only, NaN on CPU),
    with mmattn's benchmark harness (torch only)."""
    measure = importlib.import_module('mmattn.benchmark.measure')
    seconds = measure.time_fn(fn, warmup=1, runs=repeats, device=device)
    peak = (measure.peak_memory(fn, device) if device == 'cuda' else
            float('nan'))
    return seconds, peak


def check_benchmarks(report, torch, device, tiny):
    section = 'benchmark'
    try:
        _import_blocks()
    except SkipCheck as skip:
        report.add(section, 'blocks', 'SKIP', str(skip))
        return
    blocks = importlib.import_module('mmattn.blocks')
    catalog = importlib.import_module('mmattn.blocks.catalog')
    ops = import_mmattn_parts()
    small = catalog.plugin_kwargs(blocks.SalientPositionAttention,
                                  small=True) if tiny else {}
    n, c, h, w = (1, 16, 8, 8) if tiny else (2, 512, 96, 192)
    repeats = 2 if tiny else 5
    results = {}
    for name, make in (('PAM', lambda: blocks.PositionAttention(c)),
                       ('NonLocal', lambda: blocks.NonLocal(c)),
                       ('SPANet', lambda: blocks.SalientPositionAttention(
                           c, **small))):
        def one(name=name, make=make):
            block = make().to(device)
            x = torch.randn(n, c, h, w, device=device, requires_grad=True)

            def step():
                block(x).square().mean().backward()
            seconds, peak = _time_and_memory(device, step, repeats)
            results[name] = (seconds, peak)
            memory = (f'{peak / 2**20:.0f} MiB' if device == 'cuda' else
                      'n/a on CPU')
            return (f'{n}x{c}x{h}x{w} fwd+bwd {seconds * 1e3:.1f} ms, peak '
                    f'memory {memory}')
        report.run(section, f'{name} block', one)

    def ratios():
        if 'PAM' not in results:
            raise SkipCheck('the PAM anchor did not run')
        base_t, base_m = results['PAM']
        parts = []
        for name, (t, m) in results.items():
            memory = (f'{m / base_m:.2f}x memory' if base_m == base_m and
                      base_m > 0 else 'memory n/a on CPU')
            parts.append(f'{name} {t / base_t:.2f}x time, {memory}')
        return 'vs PAM: ' + '; '.join(parts)
    report.run(section, 'ratios vs PAM (same run)', ratios)

    def select():
        k = 8 if tiny else 1024
        x = torch.randn(8 if not tiny else 1, c, h * w, device=device)

        def kernel():
            ops.salient_select(x, k)

        def naive():
            idx = x.square().sum(1).topk(k, dim=1).indices
            x.gather(2, idx.unsqueeze(1).expand(-1, x.size(1), -1))
        t_kernel, m_kernel = _time_and_memory(device, kernel, repeats)
        t_naive, m_naive = _time_and_memory(device, naive, repeats)
        memory = (f', memory {m_kernel / max(m_naive, 1):.2f}x'
                  if device == 'cuda' else '')
        return (f'{tuple(x.shape)} k={k}: kernel {t_kernel * 1e3:.2f} ms, '
                f'topk+gather {t_naive * 1e3:.2f} ms '
                f'({t_kernel / t_naive:.2f}x time{memory})')
    report.run(section, 'salient_select vs topk+gather', select)


# 5. mmseg / mmdet --------------------------------------------------------

def check_openmmlab(report, torch, device, tiny):
    section = 'mmseg/mmdet'
    for package in ('mmseg', 'mmdet'):
        try:
            importlib.import_module(f'{package}.models')
        except Exception as err:  # ImportError, or mmcv-lite's missing _ext
            reason = ('it needs mmcv\'s compiled ops (mmcv._ext), which '
                      'mmcv-lite has not' if '_ext' in str(err) else
                      f'{type(err).__name__}: {err}')
            report.add(section, package, 'SKIP',
                       f'{package} does not import here: {reason}')
            continue

        def one(package=package):
            return _openmmlab_step(torch, device, package, tiny)
        report.run(section, f'{package} train step', one)


def _openmmlab_step(torch, device, package, tiny):
    """One training step of a SPANet model of ``package`` on ``device``."""
    if not hasattr(sys.modules.get('mmattn'), '__version__'):
        # the real package this time (its __init__ registers the models)
        for name in [m for m in sys.modules
                     if m == 'mmattn' or m.startswith('mmattn.')]:
            sys.modules.pop(name)
        sys.path.insert(0, ROOT)
        importlib.import_module('mmattn')
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope(package)
    registry = importlib.import_module(f'{package}.registry')
    if package == 'mmseg':
        cfg = Config.fromfile(osp.join(ROOT, 'configs',
                                       'spanet_r50_cityscapes.py'))
        cfg.model.backbone.depth = 18 if tiny else 50
        if tiny:
            cfg.model.decode_head.in_channels = 512
            cfg.model.auxiliary_head.in_channels = 256
        size = (64, 128) if tiny else (512, 1024)
    else:
        cfg = Config.fromfile(osp.join(
            ROOT, 'configs', 'spanet_faster-rcnn_r50_fpn_1x_coco.py'))
        size = (128, 128) if tiny else (800, 1333)
    cfg.model.pop('pretrained', None)
    cfg.model.backbone.init_cfg = None
    model = registry.MODELS.build(cfg.model).to(device)
    h, w = size
    if package == 'mmseg':
        from mmseg.structures import SegDataSample
        from mmengine.structures import PixelData
        sample = SegDataSample(metainfo=dict(img_shape=size, ori_shape=size,
                                             pad_shape=size))
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, 19, (1, h, w), device=device))
    else:
        from mmdet.structures import DetDataSample
        from mmengine.structures import InstanceData
        sample = DetDataSample(metainfo=dict(
            img_shape=size, ori_shape=size, pad_shape=size,
            batch_input_shape=size, scale_factor=(1., 1.)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[10., 10., 60., 60.]], device=device),
            labels=torch.tensor([1], device=device))
    inputs = torch.randn(2, 3, h, w, device=device)
    model.train()
    # mmcv's NMS in the detector's RPN takes no bfloat16: float32 there
    precision = 'bf16 autocast' if package == 'mmseg' else 'float32'
    with torch.autocast(device, dtype=torch.bfloat16,
                        enabled=package == 'mmseg'):
        losses = model.loss(inputs, [sample, sample])
    terms = [v for k, v in losses.items() if 'loss' in k]
    # mmdet's RPN gives one loss per FPN level in a list
    total = sum(t.float().sum() for v in terms
                for t in (v if isinstance(v, (list, tuple)) else [v]))
    total.backward()
    if not torch.isfinite(total):
        raise AssertionError(f'non-finite loss {total.item()}')
    return f'{precision} loss {total.item():.3f} at {h}x{w}, batch 2'


def mmcv_wheel_build(path):
    """The build record (``mmcv/_mmattn_build.py``) inside an mmcv wheel,
    or None when the wheel has none (not built by tools/build_mmcv.py)."""
    import zipfile
    with zipfile.ZipFile(path) as wheel:
        try:
            source = wheel.read('mmcv/_mmattn_build.py').decode()
        except KeyError:
            return None
    namespace = {}
    exec(compile(source, f'{path}:mmcv/_mmattn_build.py', 'exec'), namespace)
    return namespace['BUILD']


def mmcv_wheel_misfit(build, torch):
    """Why a wheel with this build record cannot load beside this torch
    (a string), or None when it fits."""
    if build is None:
        return ('the wheel records no build (not made by '
                'tools/build_mmcv.py): its torch cannot be checked')
    if (build['torch_version'], build['torch_git_version']) != \
            (torch.__version__, torch.version.git_version):
        return (f"the wheel was built for torch {build['torch_version']}, "
                f'this machine has torch {torch.__version__}: build one '
                'here with tools/check_cuda_build.sh, or carry one built '
                'for this torch')
    return None


def install_mmcv_wheel(report, torch, path):
    """Put the wheel's mmcv first on sys.path when it fits this torch."""
    section = 'mmcv ops'
    misfit = mmcv_wheel_misfit(mmcv_wheel_build(path), torch)
    if misfit:
        report.add(section, 'wheel', 'SKIP', misfit)
        return False
    import subprocess
    import tempfile
    site = tempfile.mkdtemp(prefix='mmattn_gpu_mmcv.')
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q',
                    '--no-index', '--no-deps', '--no-compile',
                    '--no-cache-dir', '--target', site, path], check=True)
    sys.path.insert(0, site)  # before mmcv-lite of --wheels
    for name in [m for m in sys.modules
                 if m == 'mmcv' or m.startswith('mmcv.')]:
        sys.modules.pop(name)
    report.add(section, 'wheel', 'PASS',
               f'{osp.basename(path)} fits torch {torch.__version__}')
    return True


def check_mmcv_ops(report, torch, device, tiny):
    """mmcv's compiled RoIAlign, NMS and criss-cross attention on the device
    against the same ops on CPU."""
    section = 'mmcv ops'
    try:
        import mmcv._ext
        from mmcv import ops
    except Exception as err:
        report.add(section, 'import', 'SKIP',
                   f'mmcv\'s compiled ops do not import: {err}')
        return
    compiled = mmcv._ext.get_compiling_cuda_version()
    report.add(section, 'compiled with', 'PASS' if device == 'cpu' or
               compiled != 'not available' else 'FAIL',
               f'CUDA {compiled}; mmcv from {osp.dirname(mmcv.__file__)}')
    generator = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 16, 24, 24, generator=generator)
    xy = torch.rand(8, 2, generator=generator) * 16
    rois = torch.cat([torch.randint(0, 2, (8, 1), generator=generator).float(),
                      xy, xy + 2 + torch.rand(8, 2, generator=generator) * 6],
                     dim=1)

    def roi_align():
        align = ops.RoIAlign((7, 7), spatial_scale=1., sampling_ratio=2)
        out = align(feats.to(device), rois.to(device)).cpu()
        ref = align(feats, rois)
        torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
        return f'{tuple(out.shape)} equal to CPU'

    def nms():
        boxes = rois[:, 1:].contiguous()
        scores = torch.rand(8, generator=generator)
        _, keep = ops.nms(boxes.to(device), scores.to(device), 0.3)
        _, keep_cpu = ops.nms(boxes, scores, 0.3)
        assert keep.cpu().tolist() == keep_cpu.tolist(), (keep, keep_cpu)
        return f'{len(keep)} of 8 boxes kept, as on CPU'

    def criss_cross():
        torch.manual_seed(0)
        attention = ops.CrissCrossAttention(16)
        x = torch.randn(1, 16, 9, 11, generator=generator)
        ref = attention(x)
        out = attention.to(device)(x.to(device)).cpu()
        torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
        return f'{tuple(out.shape)} equal to CPU'

    for name, fn in (('RoIAlign', roi_align), ('NMS', nms),
                     ('CrissCrossAttention', criss_cross)):
        report.run(section, name, fn)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default=None,
                        help='cuda (default when available) or cpu')
    parser.add_argument('--tiny', action='store_true',
                        help='small sizes (for a CPU run of the checks)')
    parser.add_argument('--json', help='also write the rows to this file')
    parser.add_argument('--budget', type=float, default=420.,
                        help='seconds after which the remaining checks are '
                        'skipped (default 420: the script must end within '
                        '8 minutes)')
    parser.add_argument('--mmcv-wheel', metavar='FILE',
                        help='an mmcv wheel with compiled ops to check '
                        '(used only if built for the torch here)')
    args = parser.parse_args(argv)
    if args.mmcv_wheel and not osp.isfile(args.mmcv_wheel):
        parser.error(f'--mmcv-wheel: no such file: {args.mmcv_wheel}')
    import torch
    report = Report(args.budget)
    cuda = torch.cuda.is_available()
    device = args.device or ('cuda' if cuda else None)
    report.add('environment', 'torch', 'PASS',
               f'torch {torch.__version__}, CUDA '
               f'{torch.version.cuda or "none"}, Python '
               f'{sys.version.split()[0]}')
    mmcv_wheel = args.mmcv_wheel and install_mmcv_wheel(report, torch,
                                                        args.mmcv_wheel)
    if device is None:
        report.add('environment', 'CUDA device', 'SKIP',
                   'no CUDA device: every CUDA check is skipped (run with '
                   '--device cpu --tiny to exercise them on CPU)')
        for section in ('salient_select', 'dot_product_attention', 'blocks',
                        'benchmark', 'mmseg/mmdet') + (
                            ('mmcv ops', ) if mmcv_wheel else ()):
            report.add(section, 'all', 'SKIP', 'no CUDA device')
    else:
        if device == 'cuda':
            if not cuda:
                parser.error('--device cuda: no CUDA device here')
            report.add('environment', 'CUDA device', 'PASS',
                       torch.cuda.get_device_name(0))
        torch.backends.cuda.matmul.allow_tf32 = False  # exact float32
        torch.backends.cudnn.allow_tf32 = False
        for check in (check_salient, check_attention, check_blocks,
                      check_benchmarks, check_openmmlab):
            check(report, torch, device, args.tiny)
        if mmcv_wheel:
            check_mmcv_ops(report, torch, device, args.tiny)
    print(report.table(), flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report.rows, f, indent=1)
    return 1 if any(r['status'] == 'FAIL' for r in report.rows) else 0


if __name__ == '__main__':
    sys.exit(main())
