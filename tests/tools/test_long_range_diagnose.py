"""The SPANet diagnosis's geometry and cue decoding, on known inputs."""
import numpy as np
import pytest

from long_range.diagnose import (cell_columns, classify_positions,
                                 closest_centroids, nearest_centroid_accuracy,
                                 per_cue_accuracy)


def test_cell_columns_tile_the_width():
    cols = cell_columns(256, 32)
    assert cols[0] == (0, 8) and cols[-1] == (248, 256)
    assert all(a[1] == b[0] for a, b in zip(cols, cols[1:]))


def test_positions_on_the_bar_on_shapes_and_background():
    label = np.zeros((96, 256), dtype=np.uint8)
    label[40:56, 120:136] = 13  # a shape around the cell (row 5, col 15)
    label[:, :16] = 255  # the bar is ignored in validation labels
    grid = (12, 32)
    on_left_bar = [0, 1, 32 * 11 + 1]  # columns 0 and 1 cover x < 16
    shape = [5 * 32 + 15]
    background = [5 * 32 + 20, 2]  # column 2 starts at x = 16
    where = classify_positions(on_left_bar + shape + background, grid,
                               (96, 256), [0, 0, 16, 96], label)
    assert where == ['bar'] * 3 + ['shape'] + ['background'] * 2
    # the right bar: the last two columns
    assert classify_positions([31, 30, 29], grid, (96, 256),
                              [240, 0, 256, 96], label) == [
                                  'bar', 'bar', 'background']


def test_nearest_centroid_reads_separable_classes_and_not_noise():
    rng = np.random.default_rng(0)
    classes = np.repeat(np.arange(4), 10)
    separable = np.eye(4)[classes] * 10 + rng.normal(0, 0.1, (40, 4))
    assert nearest_centroid_accuracy(separable, classes) == 100.0
    noise = rng.normal(0, 1, (400, 16))
    assert nearest_centroid_accuracy(noise, np.repeat(np.arange(4), 100)) \
        < 40  # chance is 25
    # a class seen once has no centroid without that sample: wrong
    assert nearest_centroid_accuracy([[0.], [0.1], [5.]], [0, 0, 1]) == \
        pytest.approx(200 / 3)


def test_bad_lengths_are_named():
    with pytest.raises(ValueError, match='same length'):
        nearest_centroid_accuracy([[0.], [1.]], [0])


def test_closest_colours_and_per_colour_accuracy():
    features = [[0., 0.], [0., 0.2], [5., 5.], [5., 5.], [9., 0.]]
    classes = [3, 3, 1, 7, 4]
    # colours 1 and 7 have the same mean: the features cannot tell them
    assert closest_centroids(features, classes) == (1, 7, 0.0)
    images = [dict(cue_accuracy=a) for a in (90., 100., 0., 2., 50.)]
    assert per_cue_accuracy(images, classes) == {1: 0.0, 3: 95.0, 4: 50.0,
                                                 7: 2.0}
    with pytest.raises(ValueError, match='two classes'):
        closest_centroids([[0.], [1.]], [2, 2])


def test_energies_are_what_the_affinity_softmaxes():
    import torch

    from long_range.diagnose import _energies
    from mmattn.blocks import SalientPositionAttention
    torch.manual_seed(0)
    x = torch.randn(2, 8, 5, 6)
    for use_scale in (False, True):
        block = SalientPositionAttention(8, k=4, use_scale=use_scale).eval()
        with torch.no_grad():
            affinity = block(x, return_attention=True)[1]['affinity']
            energy = _energies(block, x)
        torch.testing.assert_close(energy.softmax(-1).float(), affinity)
