"""The headless figure writer: one figure at a time (object API, Agg canvas), rc settings
(mathtext, no LaTeX), colours and legends, atomic 256-colour PNGs."""
import io
import os
import warnings

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image

from ...io import atomic_write_bytes

DPI = 200
FIGSIZE = (6, 4)
MAX_LEGEND = 10      # legend entries at most (students beyond are summarised as "+N more")

RC = {
    "text.usetex": False,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 7,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "savefig.dpi": DPI,
}


def _colours(n):
    return [matplotlib.colormaps["rainbow"](v) for v in (np.linspace(0, 1, n) if n > 1 else [0.0])]


def _student_handles(students, colours):
    """Legend handles 'seed <s>' (at most MAX_LEGEND-1 plus '+N more')."""
    n = len(students)
    if n <= 1:
        return []
    show = n if n <= MAX_LEGEND else MAX_LEGEND - 1
    hs = [Line2D([], [], color=colours[i], lw=1.5, label=f"seed {getattr(students[i], 'seed', i)}")
          for i in range(show)]
    if show < n:
        hs.append(Line2D([], [], color="none", label=f"+{n - show} more seeds"))
    return hs


class _Writer:
    """Creates one figure at a time, saves it atomically as PNG and discards it."""

    def __init__(self, out_dir, log, strict):
        self.out_dir, self.log, self.strict = out_dir, log, strict
        self.written = []

    def new(self):
        fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        return fig, fig.add_subplot()

    def save(self, fig, name, handles=()):
        handles = list(handles)
        if handles:
            fig.legend(handles=handles, loc="outside right upper", frameon=False)
        path = os.path.join(self.out_dir, name + ".png")
        with warnings.catch_warnings():
            # constrained layout may warn that a long title does not fit: cosmetic, never fatal
            warnings.filterwarnings("ignore", message=".*constrained_layout.*")
            warnings.filterwarnings("ignore", message=".*[Ll]ayout.*not applied.*")
            fig.canvas.draw()
        rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]
        fig.clear()
        # a 256-colour palette (no dithering) looks the same for line plots and halves the file size
        img = Image.fromarray(np.ascontiguousarray(rgb)).quantize(
            colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        buf = io.BytesIO()
        img.save(buf, format="PNG", dpi=(DPI, DPI))
        atomic_write_bytes(path, buf.getvalue())
        self.written.append(path)

    def run(self, name, func, *args):
        """Call one figure function; a failing figure is logged and skipped unless strict."""
        try:
            func(*args)
        except Exception as exc:  # noqa: BLE001 - one bad figure must not lose the others
            if self.strict:
                raise
            self.log(f"warning: could not plot {name}: {type(exc).__name__}: {exc}")
