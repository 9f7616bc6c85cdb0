"""Compare two benchmark runs by their ratios (figure / same-run baseline), scenario by scenario.

    python -m bench.compare bench/results/2026-01-10-10k.json bench/results/2026-02-01-10k.json \
        [--threshold 10] [--fail-on-worse]

Absolute figures from different runs are not comparable on shared, noisy machines; the ratio
to a baseline measured in the same run is. A change within ±threshold % is called "same".
"""

import argparse
import json
import sys
from pathlib import Path

__all__ = ["compare", "format_comparison", "load", "main"]


def load(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def _verdict(old: float, new: float, higher_is_better: bool, threshold: float) -> tuple[float, str]:
    change = (new / old - 1) * 100 if old else float("inf")
    if abs(change) <= threshold:
        return change, "same"
    improved = change > 0 if higher_is_better else change < 0
    return change, "better" if improved else "worse"


def compare(old: dict, new: dict, *, threshold: float = 10.0) -> list[dict]:
    """One row per scenario in either run: old and new ratio, the change in % and a verdict."""
    before = {s["name"]: s for s in old.get("scenarios", [])}
    after = {s["name"]: s for s in new.get("scenarios", [])}
    rows = []
    for name in list(after) + [n for n in before if n not in after]:
        a, b = before.get(name), after.get(name)
        row = {"name": name, "title": (b or a)["title"], "old_ratio": a and a.get("ratio"),
               "new_ratio": b and b.get("ratio"), "old_status": a and a.get("status"),
               "new_status": b and b.get("status"), "change_pct": None}
        if a is None:
            row["verdict"] = "new"
        elif b is None:
            row["verdict"] = "gone"
        elif row["old_ratio"] and row["new_ratio"]:
            row["change_pct"], row["verdict"] = _verdict(
                row["old_ratio"], row["new_ratio"], b.get("higher_is_better", True), threshold)
        elif row["new_ratio"]:
            row["verdict"] = "now measured"
        else:
            row["verdict"] = "—"
        rows.append(row)
    return rows


def format_comparison(rows: list[dict], old: dict, new: dict) -> str:
    def ratio(value) -> str:
        return f"{value:.2f}×" if value else "—"

    def describe(run: dict) -> str:
        machine = run.get("machine", {})
        return (f"{run.get('date', '?')} {run.get('scale', '?')} commit {machine.get('commit', '?')} "
                f"({machine.get('cores', '?')} cores)")

    table = [["Scenario", "Old ratio", "New ratio", "Change", "Verdict"]]
    for row in rows:
        change = f"{row['change_pct']:+.1f}%" if row["change_pct"] is not None else ""
        verdict = row["verdict"]
        if verdict in ("—", "now measured", "new", "gone") and row["old_status"] != row["new_status"]:
            verdict = f"{verdict} ({row['old_status'] or '—'} → {row['new_status'] or '—'})"
        table.append([row["title"], ratio(row["old_ratio"]), ratio(row["new_ratio"]), change, verdict])
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = [f"old: {describe(old)}", f"new: {describe(new)}", ""]
    for k, r in enumerate(table):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    if old.get("scale") != new.get("scale"):
        lines.append("\nwarning: the runs are at different scales; ratios may not be comparable")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--threshold", type=float, default=10.0, help="noise band in %% (default 10)")
    parser.add_argument("--fail-on-worse", action="store_true", help="exit 1 if any ratio got worse")
    args = parser.parse_args(argv)
    old, new = load(args.old), load(args.new)
    rows = compare(old, new, threshold=args.threshold)
    print(format_comparison(rows, old, new))
    return 1 if args.fail_on_worse and any(r["verdict"] == "worse" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
