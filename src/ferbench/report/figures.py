"""The report's figures, drawn with matplotlib's Agg canvas (no display, no pyplot state) into PNG bytes."""

from __future__ import annotations

import io
from typing import Any, Sequence

import numpy as np

DPI = 110


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg")  # never try a display, whatever MPLBACKEND says
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})  # no version stamp: stable bytes
    return buf.getvalue()


def confusion_png(confusion: dict[str, Any], title: str) -> bytes:
    """Row-normalised confusion matrix (true × predicted, plus the ``unscored`` column), counts written in."""
    counts = np.asarray(confusion["matrix"], dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    fig = _figure(3.4, 3.1)
    ax = fig.add_subplot()
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    labels, columns = confusion["labels"], confusion["columns"]
    ax.set_xticks(range(len(columns)), columns, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted", fontsize=7)
    ax.set_ylabel("true", fontsize=7)
    ax.set_title(title, fontsize=8)
    for (i, j), value in np.ndenumerate(counts):
        if value:
            ax.text(j, i, f"{int(value)}", ha="center", va="center", fontsize=6,
                    color="white" if share[i, j] > 0.55 else "black")
    return _png(fig)


def pareto_front(costs: Sequence[float], accuracies: Sequence[float]) -> list[int]:
    """Indices of the runs no other run beats on both axes (cost no higher and accuracy no lower, one
    strictly), ordered by cost."""
    order = sorted(range(len(costs)), key=lambda i: (costs[i], -accuracies[i]))
    front, best = [], -np.inf
    for i in order:
        if accuracies[i] > best:
            front.append(i)
            best = accuracies[i]
    return front


def pareto_png(panels: list[dict[str, Any]]) -> bytes:
    """One panel per cost measure ``{"label", "groups"}``; a group is one test condition ``{"label", "refs",
    "cost", "acc", "low", "high", "front"}`` drawn in its own colour, its front filled and joined."""
    fig = _figure(5.4 * len(panels), 4.2)
    colours = [f"C{k}" for k in range(10)]
    for k, panel in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        all_cost = np.concatenate([np.asarray(g["cost"], dtype=float) for g in panel["groups"]])
        for g, colour in zip(panel["groups"], colours * 10):
            cost, acc = np.asarray(g["cost"], dtype=float), np.asarray(g["acc"], dtype=float) * 100
            err = np.vstack([acc - np.asarray(g["low"]) * 100, np.asarray(g["high"]) * 100 - acc])
            on = np.isin(np.arange(len(cost)), g["front"])
            ax.errorbar(cost, acc, yerr=np.clip(err, 0, None), fmt="none", ecolor=colour, alpha=0.35, elinewidth=1)
            ax.scatter(cost[~on], acc[~on], facecolors="none", edgecolors=colour, s=26, zorder=3)
            ax.scatter(cost[on], acc[on], color=colour, s=30, zorder=4, label=g["label"])
            front = g["front"]
            ax.step(cost[front], acc[front], where="post", color=colour, lw=1.2, alpha=0.8)
            for x, y, ref in zip(cost, acc, g["refs"]):
                ax.annotate(ref, (x, y), textcoords="offset points", xytext=(4, 3), fontsize=6.5)
        if all_cost.min() > 0 and all_cost.max() / all_cost.min() > 20:
            ax.set_xscale("log")
        ax.margins(x=0.08, y=0.08)
        ax.set_xlabel(panel["label"], fontsize=9)
        ax.set_ylabel("accuracy % (95% CI)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, title="condition", title_fontsize=7, loc="best")
    return _png(fig)


def headline_png(panels: dict[str, dict[str, list[tuple[float, float, float, float]]]],
                 clean_only: dict[str, tuple[float, float, float]], columns: int = 3) -> bytes:
    """Accuracy against severity, one panel per degradation, one line per model with its 95% CI as a band.
    ``panels``: ``{degradation: {model: [(severity, acc, low, high), ...]}}`` (severity 0 = clean faces);
    ``clean_only``: models measured on clean faces only, drawn as a point with its CI at severity 0."""
    models = list(dict.fromkeys([m for series in panels.values() for m in series] + list(clean_only)))
    colour = {m: f"C{k % 10}" for k, m in enumerate(models)}
    rows = max(1, -(-len(panels) // columns))
    fig = _figure(4.0 * columns, 3.1 * rows)
    axes = fig.subplots(rows, columns, squeeze=False, sharey=True)
    for ax, (degradation, series) in zip(axes.flat, panels.items()):
        for model, points in series.items():
            sev, acc, low, high = (np.asarray(v, dtype=float) for v in zip(*sorted(points)))
            ax.fill_between(sev, low * 100, high * 100, color=colour[model], alpha=0.15, lw=0)
            ax.plot(sev, acc * 100, marker="o", ms=4, lw=1.6, color=colour[model], label=model)
        for model, (acc, low, high) in clean_only.items():
            ax.errorbar([0], [acc * 100], yerr=[[max(0, (acc - low) * 100)], [max(0, (high - acc) * 100)]],
                        fmt="D", ms=5, capsize=3, color=colour[model], label=f"{model} (clean faces only)")
        ax.set_title(degradation, fontsize=10)
        ax.set_xlabel("severity (0 = clean)", fontsize=8)
        ax.set_xticks(sorted({p[0] for pts in series.values() for p in pts}))
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy % (95% CI)", fontsize=8)
    spare = list(axes.flat)[len(panels):]
    handles, labels = next(iter(axes.flat)).get_legend_handles_labels()
    for ax in spare:
        ax.axis("off")
    (spare[0] if spare else fig).legend(handles, labels, loc="center" if spare else "lower center", fontsize=8,
                                        frameon=False)
    return _png(fig)


def restoration_png(groups: list[dict[str, Any]]) -> bytes:
    """Grouped horizontal bars, one group per degraded condition ``{"label", "bars"}``; a bar is one run
    ``{"model", "restorer", "acc", "low", "high"}``, ``restorer`` None when unrestored (solid) or the name of the
    best restorer (hatched, lighter, name written beside it), its 95% CI as a whisker."""
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    models = list(dict.fromkeys(b["model"] for g in groups for b in g["bars"]))
    colour = {m: f"C{k % 10}" for k, m in enumerate(models)}
    bars = sum(len(g["bars"]) for g in groups)
    fig = _figure(7.0, 1.4 + 0.26 * bars + 0.2 * len(groups))
    ax = fig.add_subplot()
    y, ticks, top = 0.0, [], 0.0
    for g in groups:
        first = y
        for b in g["bars"]:
            acc, low, high = (100 * b[k] for k in ("acc", "low", "high"))
            restored = b["restorer"] is not None
            ax.barh(y, acc, height=0.8, color=to_rgba(colour[b["model"]], 0.35 if restored else 1.0),
                    edgecolor=colour[b["model"]], hatch="///" if restored else None, lw=0.8)
            ax.errorbar(acc, y, xerr=[[max(0, acc - low)], [max(0, high - acc)]], fmt="none", ecolor="black",
                        capsize=2, elinewidth=0.8)
            if restored:
                ax.annotate(b["restorer"], (max(acc, high), y), textcoords="offset points", xytext=(4, 0),
                            va="center", fontsize=7)
            top = max(top, acc, high)
            y += 1
        ticks.append(((first + y - 1) / 2, g["label"]))
        y += 0.7  # a gap between conditions
    ax.set_yticks([t for t, _ in ticks], [label for _, label in ticks], fontsize=8)
    ax.invert_yaxis()  # first condition on top
    ax.set_xlim(0, top + 18)  # room for the restorer names
    ax.set_xlabel("accuracy % (95% CI)", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    handles = [Patch(color=colour[m], label=m) for m in models]
    handles += [Patch(facecolor="grey", edgecolor="grey", label="no restoration"),
                Patch(facecolor=to_rgba("grey", 0.35), edgecolor="grey", hatch="///", label="best restorer (named)")]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles)), fontsize=7, frameon=False)
    return _png(fig)
