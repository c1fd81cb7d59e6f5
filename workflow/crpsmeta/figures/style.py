"""One backend and one style for every figure (imported by each figure module)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only, on any machine: no display needed

import matplotlib.pyplot as plt

# the house style: light frames, small type that stays legible in the HTML report
STYLE = {
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "figure.dpi": 100,
}
plt.rcParams.update(STYLE)
# one resolution for every saved figure: sharp in the report, small enough to embed
DPI = 130


def save_figure(fig, path) -> None:
    """Save a figure as the report shows it, and free its memory."""
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


__all__ = ["plt", "STYLE", "DPI", "save_figure"]
