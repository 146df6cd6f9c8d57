"""The PNG chart: one panel per metric, a bar per category (base beside fine-tuned)."""

from pathlib import Path

from rvtune.core.atomic import atomic_path


def _rates(report: dict, metric: str, groups: list[str]) -> list[float]:
    rows = {"overall": report["overall"], **report.get("by_category", {})}
    values = [rows.get(g, {}).get(metric) for g in groups]
    return [float("nan") if v is None else 100.0 * v for v in values]


def write_chart(target: Path, results: dict, metrics: list[str], base: dict | None = None,
                title: str = "") -> Path:
    """Draw ``results`` (and ``base`` if given) as per-category bars into ``target`` (PNG).

    A rate that is None (no decidable example) is left out; the category names under the
    bars carry the example counts.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = ["overall", *results.get("by_category", {})]
    counts = {"overall": results["overall"]["examples"],
              **{c: s["examples"] for c, s in results.get("by_category", {}).items()}}
    labels = [f"{g}\n(n={counts[g]})" for g in groups]
    series = [("fine-tuned" if base else "model", results, "#1f77b4")]
    if base:
        series.insert(0, ("base", base, "#bbbbbb"))

    width_in = max(6.0, 1.2 + 0.55 * len(groups) * len(series))
    fig, axes = plt.subplots(len(metrics), 1, figsize=(width_in, 2.3 * len(metrics) + 0.6),
                             squeeze=False, sharex=True)
    bar = 0.8 / len(series)
    for ax, metric in zip(axes[:, 0], metrics):
        for index, (name, report, colour) in enumerate(series):
            xs = [g + (index - (len(series) - 1) / 2) * bar for g in range(len(groups))]
            rates = _rates(report, metric, groups)
            bars = ax.bar(xs, [0 if r != r else r for r in rates], bar, label=name,
                          color=colour)
            # A rate of None (nothing decidable) must not read as 0%.
            ax.bar_label(bars, ["n/a" if r != r else f"{r:.0f}" for r in rates],
                         fontsize=7, padding=1)
        ax.set_ylim(0, 112)
        ax.set_yticks(range(0, 101, 20))
        ax.set_ylabel("%")
        ax.set_title(metric, loc="left", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[-1, 0].set_xticks(range(len(groups)))
    axes[-1, 0].set_xticklabels(labels, fontsize=8)
    if len(series) > 1:
        axes[0, 0].legend(loc="upper right", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    with atomic_path(target, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return target
