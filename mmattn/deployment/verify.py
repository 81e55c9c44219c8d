"""Check an exported ONNX file against the PyTorch model in onnxruntime."""
import time

import numpy as np
import torch

#: ``--verify`` fails above this relative difference.
RELATIVE_TOLERANCE = 1e-3


def verification_images(shape, seed=0):
    """A random image and a synthetic scene (the long-range benchmark's
    kind), both (1, 3, H, W) float32 BGR 0-255, as a dict name -> array."""
    from ..datasets.synthetic import synthetic_image
    h, w = shape
    rng = np.random.default_rng(seed)
    random = rng.uniform(0, 255, (1, 3, h, w)).astype(np.float32)
    scene = synthetic_image(h, w, seed=seed)[..., ::-1]  # RGB -> BGR
    scene = np.ascontiguousarray(scene.transpose(2, 0, 1)[None])
    return dict(random=random, synthetic=scene.astype(np.float32))


def session_for(path):
    """An onnxruntime CPU session of the file (load it once, pass it to
    :func:`verify`, :func:`time_both` and :func:`compare`)."""
    import onnxruntime as ort
    return ort.InferenceSession(str(path),
                                providers=['CPUExecutionProvider'])


def compare(session, wrapper, image):
    """Run one image through both; the worst output's differences.

    Returns:
        dict: ``max_abs`` (largest absolute difference over the float
        outputs), ``max_rel`` (that difference divided by the largest
        magnitude of the PyTorch output it was found in: a relative error of
        the output's scale, not per element, which near-zero values would
        make meaningless) and ``label_agreement`` (share of equal pixels in
        integer outputs, 1.0 when there are none).
    """
    outputs = session.run(None, {session.get_inputs()[0].name: image})
    with torch.no_grad():
        expected = wrapper(torch.from_numpy(image))
    max_abs = max_rel = 0.0
    agreement = 1.0
    for got, want in zip(outputs, expected):
        want = want.numpy()
        if got.shape != want.shape:
            raise AssertionError(
                f'onnxruntime output of shape {got.shape}, PyTorch '
                f'{want.shape}')
        if np.issubdtype(want.dtype, np.integer):
            agreement = min(agreement, float((got == want).mean()))
            continue
        diff = float(np.abs(got - want).max())
        scale = float(np.abs(want).max()) or 1.0
        max_abs, max_rel = max(max_abs, diff), max(max_rel, diff / scale)
    return dict(max_abs=max_abs, max_rel=max_rel,
                label_agreement=agreement)


def verify(session, wrapper, shape, sizes=(), seed=0):
    """Compare a file's session with PyTorch on a random and a synthetic
    image at ``shape`` and at every extra size of ``sizes`` (for dynamic
    files).

    Returns:
        list[dict]: one row per (image, size) with the keys of
        :func:`compare`, ``image`` and ``size``.
    """
    rows = []
    for size in [tuple(shape), *map(tuple, sizes)]:
        for name, image in verification_images(size, seed).items():
            row = compare(session, wrapper, image)
            rows.append(dict(image=name, size=size, **row))
    return rows


def time_both(session, wrapper, shape, runs=3):
    """Median seconds of one image through onnxruntime and PyTorch."""
    image = verification_images(shape)['random']
    feed = {session.get_inputs()[0].name: image}
    tensor = torch.from_numpy(image)

    def median(fn):
        fn()  # warm-up
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return float(np.median(times))

    with torch.no_grad():
        torch_s = median(lambda: wrapper(tensor))
    return dict(onnxruntime_s=median(lambda: session.run(None, feed)),
                torch_s=torch_s)
