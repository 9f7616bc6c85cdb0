"""bench.compare on two small results files."""

import json

from bench.compare import compare, main


def run(commit: str, scenarios: list[dict]) -> dict:
    return {"date": "2026-01-01", "scale": "10k", "machine": {"commit": commit, "cores": 2}, "scenarios": scenarios}


def row(name: str, ratio, *, higher_is_better: bool = True, status: str = "—") -> dict:
    return {"name": name, "title": name.replace("_", " "), "ratio": ratio, "higher_is_better": higher_is_better,
            "status": status}


OLD = run("aaa", [
    row("events_ingest", 0.50), row("api_read", 0.40), row("board_render", 2.0, higher_is_better=False),
    row("segment_count", None, status="not built yet (segments issue)"), row("removed", 1.0),
])
NEW = run("bbb", [
    row("events_ingest", 0.60), row("api_read", 0.42), row("board_render", 3.0, higher_is_better=False),
    row("segment_count", 1.5, higher_is_better=False, status="pass"), row("added", 0.9),
])


def test_it_reports_the_ratio_change_per_scenario_with_the_right_direction():
    verdicts = {r["name"]: (r["verdict"], r["change_pct"]) for r in compare(OLD, NEW, threshold=10)}

    assert verdicts["events_ingest"][0] == "better" and round(verdicts["events_ingest"][1]) == 20
    assert verdicts["api_read"][0] == "same"  # +5% is within the noise band
    assert verdicts["board_render"][0] == "worse"  # a time ratio that grew is a regression
    assert verdicts["segment_count"][0] == "now measured"
    assert verdicts["added"][0] == "new"
    assert verdicts["removed"][0] == "gone"


def test_the_command_prints_a_table_and_can_fail_on_a_regression(tmp_path, capsys):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(OLD))
    new.write_text(json.dumps(NEW))

    assert main([str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert "commit aaa" in out and "commit bbb" in out
    assert "events ingest" in out and "+20.0%" in out and "better" in out
    assert "not built yet (segments issue) → pass" in out

    assert main([str(old), str(new), "--fail-on-worse"]) == 1
    assert main([str(old), str(old), "--fail-on-worse"]) == 0
