"""Statistics that rank the benchmark's models: bootstrap confidence
intervals of a mean over seeds, of the difference of two models' means, and
the verdict "tied" where the interval of a difference includes 0.

The bootstrap resamples the seeds of a model with replacement (percentile
interval). With n seeds it can only produce intervals inside the range of
the n values: with 3 seeds it is optimistic, which is why the benchmark
asks for 5. Intervals are clipped to the metric's range (0 to 100 for mIoU
and accuracies), so no error bar leaves it.
"""
import numpy as np

#: Resamples of every interval (fixed seed: the tables are reproducible).
RESAMPLES = 10000
LEVEL = 0.95


def _values(values):
    values = np.asarray([v for v in values if v is not None], dtype=float)
    if values.size == 0:
        raise ValueError('no values: a model needs at least one run')
    if not np.all(np.isfinite(values)):
        raise ValueError(f'values must be finite, got {values.tolist()}')
    return values


def _means(values, rng, resamples):
    picks = rng.integers(0, len(values), size=(resamples, len(values)))
    return values[picks].mean(axis=1)


def bootstrap_ci(values, level=LEVEL, resamples=RESAMPLES, seed=0,
                 bounds=(0.0, 100.0)):
    """Mean of ``values`` and the percentile bootstrap interval of it.

    Args:
        values (Sequence[float]): one value per seed (None values skipped).
        level (float): coverage, in (0, 1).
        resamples (int): bootstrap resamples.
        seed (int): seed of the resampling.
        bounds (tuple, optional): the metric's range; the interval is
            clipped to it. None: no clipping.

    Returns:
        tuple: ``(mean, low, high)``.
    """
    if not 0 < level < 1:
        raise ValueError(f'level must be in (0, 1), got {level!r}')
    values = _values(values)
    means = _means(values, np.random.default_rng(seed), resamples)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    if bounds is not None:
        low, high = np.clip([low, high], *bounds)
    return float(values.mean()), float(low), float(high)


def difference_ci(a, b, level=LEVEL, resamples=RESAMPLES, seed=0):
    """Mean of ``a`` minus mean of ``b``, with the bootstrap interval of the
    difference (each model's seeds resampled on their own).

    Returns:
        tuple: ``(difference, low, high, tied)``; ``tied`` when the interval
        includes 0.
    """
    a, b = _values(a), _values(b)
    rng = np.random.default_rng(seed)
    diffs = _means(a, rng, resamples) - _means(b, rng, resamples)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return (float(a.mean() - b.mean()), float(low), float(high),
            bool(low <= 0 <= high))


def ranking(records, metric='mIoU', top=5, also=('spa', )):
    """The ``top`` models by mean ``metric`` with their intervals, and every
    pairwise difference among them and between each of ``also`` (SPANet)
    and each of them.

    Args:
        records (list[dict]): runs (``model``, ``seed``, ``metric``).

    Returns:
        tuple: ``(rows, pairs)``: rows ``(model, mean, low, high, n)``
        best first; pairs ``(a, b, diff, low, high, tied)``.
    """
    by_model = {}
    for rec in records:
        by_model.setdefault(rec['model'], []).append(rec[metric])
    rows = sorted(((m, *bootstrap_ci(v), len(v)) for m, v in
                   by_model.items()), key=lambda r: -r[1])
    leaders = [r[0] for r in rows[:top]]
    pairs = []
    for i, a in enumerate(leaders):
        for b in leaders[i + 1:]:
            pairs.append((a, b, *difference_ci(by_model[a], by_model[b])))
    for a in also:
        if a in by_model and a not in leaders:
            pairs += [(b, a, *difference_ci(by_model[b], by_model[a]))
                      for b in leaders]
    return rows, pairs


def format_ranking(records, metric='mIoU', top=5, also=('spa', )):
    """Markdown: the ranking table and the pairwise differences."""
    rows, pairs = ranking(records, metric, top, also)
    lines = [f'| rank | model | {metric} mean | 95 % CI | seeds |',
             '|---:|---|---:|---|---:|']
    lines += [f'| {k + 1} | {m} | {mean:.1f} | {low:.1f} to {high:.1f} | '
              f'{n} |' for k, (m, mean, low, high, n) in enumerate(rows)]
    lines += ['', f'| models | difference of mean {metric} | 95 % CI | '
              f'verdict |', '|---|---:|---|---|']
    lines += [f'| {a} - {b} | {d:+.1f} | {low:+.1f} to {high:+.1f} | '
              f'{"tied" if tied else (a if d > 0 else b) + " ahead"} |'
              for a, b, d, low, high, tied in pairs]
    return '\n'.join(lines) + '\n'


def format_pairs(records, pairs, metric='mIoU'):
    """Markdown: each pair ``(a, b)`` of models (say a block's default init
    and its identity start) with both means, their intervals and the
    difference ``b - a`` with its interval and verdict. Pairs with a model
    that has no run are left out."""
    by_model = {}
    for rec in records:
        by_model.setdefault(rec['model'], []).append(rec[metric])
    lines = [f'| {metric}: model | mean [95 % CI] | other | mean [95 % CI] | '
             'difference (other - model) [95 % CI] | verdict |',
             '|---|---:|---|---:|---:|---|']
    for a, b in pairs.items() if isinstance(pairs, dict) else pairs:
        if a not in by_model or b not in by_model:
            continue
        cells = []
        for model in (a, b):
            mean, low, high = bootstrap_ci(by_model[model])
            cells.append(f'{model} | {mean:.1f} [{low:.1f}, {high:.1f}] '
                         f'({len(by_model[model])})')
        d, low, high, tied = difference_ci(by_model[b], by_model[a])
        verdict = 'tied' if tied else f'{b if d > 0 else a} ahead'
        lines.append(f'| {cells[0]} | {cells[1]} | {d:+.1f} [{low:+.1f}, '
                     f'{high:+.1f}] | {verdict} |')
    return '\n'.join(lines) + '\n'
