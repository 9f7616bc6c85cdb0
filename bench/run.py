"""Run the benchmarks: `make bench` (SCALE=10k by default) or

    python -m bench.run --scale 10k [--only NAME[,NAME]] [--seed 42] [--duration 10] [--regenerate]
                        [--no-readme]

Generates the data set for the scale in its own database (or reuses it), runs every scenario,
prints the table, writes bench/results/<date>-<scale>.json and appends the table to
bench/README.md. Every figure stands next to a baseline measured in the same run on the same data.
"""

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime

__all__ = ["main", "setup_django"]


def setup_django(scale: str) -> str:
    """Point this process at the bench database for `scale`, set Django up and migrate. Returns the URL."""
    import django
    from django.core.management import call_command

    from bench.database import use_bench_database

    url = use_bench_database(scale)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    return url


def _selected(scenario, only: set[str]) -> bool:
    return not only or scenario.name in only or bool(only & set(scenario.rows))


def _merged_with_earlier(run: dict, directory) -> dict:
    """A partial run (--only) replaces its own rows in the day's results file and keeps the others'.

    Without this, `--only contacts_import` would leave a results file with one scenario in it.
    """
    path = directory / f"{run['date']}-{run['scale']}.json"
    if not run["only"] or not path.exists():
        return run
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError):
        return run
    new = {row["name"]: row for row in run["scenarios"]}
    rows = [new.pop(row["name"], row) for row in earlier.get("scenarios", [])] + list(new.values())
    only = sorted(set(earlier.get("only") or []) | set(run["only"])) if earlier.get("only") else []
    return {**run, "only": only, "scenarios": rows,
            "merged": {"rows": sorted(r["name"] for r in run["scenarios"]),
                       "into_run_started_at": earlier.get("started_at")}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description="Lifecycle benchmarks at scale.")
    parser.add_argument("--scale", default="10k", help="tiny, 10k, 100k, 1m or a number of contacts")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--only", default="", help="comma-separated scenario names (see bench/README.md)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load measurement")
    parser.add_argument("--concurrency", type=int, default=20, help="concurrent HTTP clients")
    parser.add_argument("--regenerate", action="store_true", help="generate the data set even if it exists")
    parser.add_argument("--no-readme", action="store_true", help="do not append the table to bench/README.md")
    args = parser.parse_args(argv)

    from bench.generate import DEFAULT_SEED, parse_scale

    scale, _contacts = parse_scale(args.scale)
    seed = DEFAULT_SEED if args.seed is None else args.seed
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    started = time.perf_counter()
    url = setup_django(scale)

    from bench import report
    from bench.generate import generate
    from bench.load import tool
    from bench.scenarios import Context, Result, scenarios

    print(f"bench database: {url.rsplit('/', 1)[-1]}", flush=True)
    dataset = generate(scale=scale, seed=seed, force=args.regenerate, log=lambda m: print(m, flush=True))
    ctx = Context(scale=scale, dataset=dataset, duration=args.duration, concurrency=args.concurrency,
                  log=lambda m: print(m, flush=True))
    chosen = [s for s in scenarios() if _selected(s, only)]
    if only and not chosen:
        names = ", ".join(s.name for s in scenarios())
        parser.error(f"no scenario called {', '.join(sorted(only))}; there are: {names}")
    results: list[Result] = []
    for scenario in chosen:
        print(f"- {scenario.name}", flush=True)
        try:
            rows = scenario.run(ctx)
        except Exception as exc:  # one broken scenario must not hide the others' figures
            rows = [Result(name=scenario.name, title=scenario.name, unit="", status="error",
                           notes=f"{type(exc).__name__}: {exc}"[:300])]
            print(f"  error: {rows[0].notes}", flush=True)
        for row in rows:
            row.finish(scale)
            ctx.results[row.name] = row
            results.append(row)

    run = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scale": scale,
        "seed": seed,
        "only": sorted(only),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": report.machine(),
        "load_tool": tool(),
        "dataset": dataset.as_dict(),
        "scenarios": [r.as_dict() for r in results],
    }
    print()
    print(report.heading(run))
    print(report.text_table(results, scale))
    path = report.write_results(_merged_with_earlier(run, report.RESULTS_DIR))
    print(f"\nresults: {os.path.relpath(path)}")
    if not args.no_readme:
        report.append_readme(run, results)
        print(f"table appended to {os.path.relpath(report.README)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
