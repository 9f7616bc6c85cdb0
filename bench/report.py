"""The results: a table on the console, a JSON file per run, and the same table appended to the README."""

import json
import platform
import subprocess
from pathlib import Path

from bench.scenarios import Result
from bench.server import cores

__all__ = ["README", "RESULTS_DIR", "append_readme", "format_number", "machine", "markdown_table", "text_table",
           "write_results"]

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
README = BENCH_DIR / "README.md"
COLUMNS = ["Scenario", "Figure", "Baseline", "Ratio", "Goal", "Status", "Notes"]


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=BENCH_DIR, capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict:
    """Where the figures come from: cores, RAM, CPU, versions and the git commit."""
    ram = 0.0
    cpu = platform.processor()
    try:
        meminfo = Path("/proc/meminfo").read_text()
        ram = int(next(line.split()[1] for line in meminfo.splitlines() if line.startswith("MemTotal:"))) / 2**20
        cpuinfo = Path("/proc/cpuinfo").read_text()
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                    if line.startswith("model name")), cpu)
    except (OSError, StopIteration, ValueError):
        pass
    postgres = ""
    try:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            postgres = cursor.fetchone()[0]
    except Exception:  # the report must not fail for want of a version string
        postgres = "?"
    commit = _git("rev-parse", "--short=10", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {"cores": cores(), "ram_gib": round(ram, 1), "cpu": cpu, "python": platform.python_version(),
            "postgres": postgres, "commit": commit, "dirty": dirty}


def format_number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit in ("ms", "s"):
        return f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"
    return f"{value:,.0f} {unit}"


def _cells(result: Result) -> list[str]:
    baseline = format_number(result.baseline, result.unit)
    if result.baseline is not None and result.baseline_label:
        baseline += f" ({result.baseline_label})"
    elif result.baseline_label:
        baseline = f"— ({result.baseline_label})"
    ratio = f"{result.ratio:.2f}×" if result.ratio is not None else "—"
    return [f"{result.title}", format_number(result.figure, result.unit), baseline, ratio,
            str(result.goal) if result.goal else "—", result.status, result.notes]


def _footer(results: list[Result], scale: str) -> list[str]:
    lines = ["Ratio = figure / baseline, both measured in this run on the same data."]
    if any(r.status.endswith("*") for r in results):
        lines.append(f"* the goal is stated for another scale than this run's ({scale}); it only counts there.")
    return lines


def text_table(results: list[Result], scale: str) -> str:
    rows = [COLUMNS] + [_cells(r) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    lines = []
    for k, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1])
        if k == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 5)
    return "\n".join(lines + [""] + _footer(results, scale))


def markdown_table(results: list[Result], scale: str) -> str:
    def row(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    lines = [row(COLUMNS), "|" + "---|" * len(COLUMNS)]
    lines += [row(_cells(r)) for r in results]
    return "\n".join(lines + [""] + _footer(results, scale))


def heading(run: dict) -> str:
    m = run["machine"]
    commit = m["commit"] + (" (with local changes)" if m["dirty"] else "")
    return (f"{run['date']} · scale {run['scale']} ({run['dataset']['contacts']:,} contacts) · commit {commit} · "
            f"{m['cores']} cores, {m['ram_gib']} GiB RAM · PostgreSQL {m['postgres']} · load: {run['load_tool']}")


def write_results(run: dict, directory: Path = RESULTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{run['date']}-{run['scale']}.json"
    path.write_text(json.dumps(run, indent=2, default=str) + "\n")
    return path


def append_readme(run: dict, results: list[Result], readme: Path = README) -> None:
    block = f"\n### {heading(run)}\n\n{markdown_table(results, run['scale'])}\n"
    with readme.open("a") as handle:
        handle.write(block)
