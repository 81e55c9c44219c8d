"""Drawing of attention panels over the input image (matplotlib, Agg)."""
import numpy as np


def _upsample(data, size):
    """(h, w) array -> (H, W) by nearest neighbour (the grid stays
    visible: each feature position covers its block of pixels)."""
    h, w = data.shape
    rows = (np.arange(size[0]) * h // size[0]).clip(0, h - 1)
    cols = (np.arange(size[1]) * w // size[1]).clip(0, w - 1)
    return data[rows][:, cols]


def _centre(point, grid, size):
    """Pixel (x, y) of the centre of grid cell (row, column)."""
    (r, c), (h, w) = point, grid
    return (c + 0.5) * size[1] / w, (r + 0.5) * size[0] / h


def draw_panel(ax, panel, image):
    """Draw one :class:`~mmattn.visualization.attention_maps.Panel`.

    Args:
        ax: a matplotlib axis.
        panel: the panel.
        image: (H, W, 3) uint8 RGB, the model's input.
    """
    data = panel.data.detach().float().cpu().numpy()
    ax.set_title(panel.title, fontsize=8)
    if panel.kind == 'bars':
        ax.bar(np.arange(len(data)), data, width=1.0, color='tab:blue')
        ax.set_xlabel('channel', fontsize=7)
        ax.set_ylim(0, max(1.0, float(np.nanmax(data)) * 1.05))
        ax.tick_params(labelsize=6)
        return
    if panel.kind == 'matrix':
        shown = ax.imshow(data, cmap='viridis', interpolation='nearest')
        ax.figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
        ax.tick_params(labelsize=6)
        if panel.blocks:  # equally wide blocks, each named below it
            width = data.shape[1] / len(panel.blocks)
            for k in range(1, len(panel.blocks)):
                ax.axvline(k * width - 0.5, color='white', linewidth=2)
            ax.set_xticks([(k + 0.5) * width - 0.5
                           for k in range(len(panel.blocks))])
            ax.set_xticklabels(panel.blocks, fontsize=7)
            ax.set_yticks([])
        return
    size = image.shape[:2]
    ax.imshow(image)
    shown = ax.imshow(_upsample(data, size), cmap='jet', alpha=0.55,
                      interpolation='nearest')
    ax.figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    for i, point in enumerate(panel.points or ()):
        x, y = _centre(point, data.shape, size)
        ax.plot(x, y, marker='o', markersize=6, markerfacecolor='white',
                markeredgecolor='black')
        if len(panel.points) > 1:
            ax.annotate(str(i + 1), (x, y), color='white', fontsize=7,
                        xytext=(3, 3), textcoords='offset points')
    ax.set_axis_off()


def _figure(name, panels, image, columns=4):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    columns = min(columns, len(panels))
    rows = (len(panels) + columns - 1) // columns
    aspect = image.shape[1] / image.shape[0]
    fig, axes = plt.subplots(rows, columns, squeeze=False,
                             figsize=(3.2 * columns * min(aspect, 2.5) / 1.5,
                                      2.6 * rows))
    for ax, panel in zip(axes.flat, panels):
        draw_panel(ax, panel, image)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_axis_off()
    fig.suptitle(name, fontsize=9)
    fig.tight_layout()
    return fig


def draw_module(path, name, panels, image, columns=4):
    """One PNG of a module: its panels in a grid, titled with its name."""
    import matplotlib.pyplot as plt
    fig = _figure(name, panels, image, columns)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def render_module(name, panels, image, columns=4):
    """The picture of :func:`draw_module` as an (H, W, 3) uint8 RGB array
    (for mmengine's visualizer)."""
    import matplotlib.pyplot as plt
    fig = _figure(name, panels, image, columns)
    fig.set_dpi(110)
    fig.canvas.draw()
    picture = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return picture
