"""`bench.run --only …` updates its rows in the day's results file instead of replacing the file."""

import json

from bench.run import _merged_with_earlier


def run(only: list[str], names: list[str], *, started: str = "2026-11-22T10:00:00+00:00") -> dict:
    return {"date": "2026-11-22", "scale": "10k", "started_at": started, "only": only,
            "scenarios": [{"name": name, "figure": len(name)} for name in names]}


def test_a_partial_run_replaces_its_own_rows_and_keeps_the_others(tmp_path):
    earlier = run([], ["events_ingest", "contacts_import", "deal_move"])
    (tmp_path / "2026-11-22-10k.json").write_text(json.dumps(earlier))
    partial = run(["contacts_import", "segment_count"], ["contacts_import", "segment_count"],
                  started="2026-11-22T12:00:00+00:00")
    partial["scenarios"][0]["figure"] = 999

    merged = _merged_with_earlier(partial, tmp_path)

    assert [(row["name"], row["figure"]) for row in merged["scenarios"]] == [
        ("events_ingest", 13), ("contacts_import", 999), ("deal_move", 9), ("segment_count", 13)]
    assert merged["only"] == []  # the file still holds a full run, with two rows measured again
    assert merged["merged"] == {"rows": ["contacts_import", "segment_count"],
                                "into_run_started_at": "2026-11-22T10:00:00+00:00"}


def test_two_partial_runs_add_up_and_a_full_run_replaces_the_file(tmp_path):
    (tmp_path / "2026-11-22-10k.json").write_text(json.dumps(run(["deal_move"], ["deal_move"])))

    merged = _merged_with_earlier(run(["board_render"], ["board_render"]), tmp_path)
    full = _merged_with_earlier(run([], ["board_render"]), tmp_path)

    assert merged["only"] == ["board_render", "deal_move"]
    assert [row["name"] for row in merged["scenarios"]] == ["deal_move", "board_render"]
    assert [row["name"] for row in full["scenarios"]] == ["board_render"]


def test_a_partial_run_on_a_new_day_or_scale_starts_a_file_of_its_own(tmp_path):
    partial = run(["deal_move"], ["deal_move"])

    assert _merged_with_earlier(partial, tmp_path) is partial
