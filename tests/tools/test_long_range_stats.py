"""The long-range benchmark's statistics on inputs whose answer is known."""
import numpy as np
import pytest

from long_range import stats


def test_interval_of_constant_values_is_the_value():
    assert stats.bootstrap_ci([42.0] * 5) == (42.0, 42.0, 42.0)


def test_interval_covers_the_mean_at_the_normal_width():
    rng = np.random.default_rng(1)
    values = 50 + 10 * rng.standard_normal(400)
    mean, low, high = stats.bootstrap_ci(values, resamples=4000)
    half = 1.96 * values.std(ddof=1) / np.sqrt(len(values))
    assert low < mean < high
    assert (high - low) / 2 == pytest.approx(half, rel=0.1)


def test_interval_stays_inside_the_metric_range():
    mean, low, high = stats.bootstrap_ci([99.0, 100.0, 60.0])
    assert 0 <= low <= mean <= high <= 100
    _, low, _ = stats.bootstrap_ci([0.0, 0.5, 40.0])
    assert low >= 0
    # no clipping when asked
    assert stats.bootstrap_ci([-5.0, -3.0], bounds=None)[1] < 0


def test_separated_models_differ_and_overlapping_ones_tie():
    diff, low, high, tied = stats.difference_ci([90, 91, 92, 93, 94],
                                                [60, 61, 62, 63, 64])
    assert diff == 30 and 0 < low <= diff <= high and not tied
    diff, low, high, tied = stats.difference_ci([70, 80, 90, 75, 85],
                                                [72, 82, 88, 78, 80])
    assert low < 0 < high and tied


def test_ranking_orders_models_and_compares_spa_with_the_leaders():
    records = [dict(model=m, seed=s, mIoU=v)
               for m, values in (('a', [90, 91, 92]), ('b', [80, 81, 82]),
                                 ('c', [10, 11, 12]), ('spa', [5, 6, 7]))
               for s, v in enumerate(values)]
    rows, pairs = stats.ranking(records, top=2)
    assert [r[0] for r in rows] == ['a', 'b', 'c', 'spa']
    assert [(p[0], p[1]) for p in pairs] == [('a', 'b'), ('a', 'spa'),
                                             ('b', 'spa')]
    assert all(not p[-1] for p in pairs)  # all clearly apart
    text = stats.format_ranking(records, top=2)
    assert '| 1 | a | 91.0 |' in text and '| a - b | +10.0 |' in text


@pytest.mark.parametrize('bad, match', [([], 'no values'),
                                        ([1.0, float('nan')], 'finite')])
def test_bad_values_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        stats.bootstrap_ci(bad)


def test_bad_level_is_named():
    with pytest.raises(ValueError, match=r'level must be in \(0, 1\)'):
        stats.bootstrap_ci([1.0], level=95)


def test_docs_ranking_is_the_published_runs():
    import json
    import os.path as osp
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    with open(osp.join(root, 'docs', 'long_range', 'results.json')) as f:
        runs = json.load(f)['runs']
    docs = open(osp.join(root, 'docs', 'long_range.md')).read()
    assert stats.format_ranking(runs) in docs


def test_pairs_table_gives_both_sides_and_the_difference():
    runs = [dict(model=m, seed=s, mIoU=v)
            for m, vals in (('plain', (10, 12, 11)), ('zero', (80, 82, 81)),
                            ('a', (50, 60, 55)), ('b', (52, 58, 56)))
            for s, v in enumerate(vals)]
    table = stats.format_pairs(runs, {'plain': 'zero', 'a': 'b', 'x': 'y'})
    lines = table.splitlines()
    assert len(lines) == 4  # header, rule, two pairs (x, y have no runs)
    assert lines[2].startswith('| plain | 11.0 [10.0, 12.0] (3) | zero | '
                               '81.0 [80.0, 82.0] (3) | +70.0 [')
    assert lines[2].endswith('| zero ahead |')
    assert lines[3].endswith('| tied |')
