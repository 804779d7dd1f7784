"""Loading and validating exports: formats, exclusions, one clear error per mistake."""

import shutil
import zipfile

import numpy as np
import pandas as pd
import pytest
from export_files import write_export

from analysis.io import ExportError, load_export


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_formats_load_the_same(tmp_path, hand_tables, fmt):
    export = load_export(write_export(tmp_path / fmt, hand_tables, fmt))
    assert export.units["text"].tolist() == hand_tables["units"]["text"].tolist()  # "None", "NA", "\n" survive
    assert export.units["task_id"].tolist() == hand_tables["units"]["task_id"].tolist()
    assert export.selections["selected"].dtype.kind == "i"


def test_excluded_dropped_by_default_and_kept_on_request(tmp_path, hand_tables):
    folder = write_export(tmp_path, hand_tables)
    dropped = load_export(folder)
    assert dropped.excluded == ["p3"]
    assert "p3" not in set(dropped.selections["participant_id"])
    kept = load_export(folder, keep_excluded=True)
    assert kept.excluded == ["p3"] and "p3" in set(kept.selections["participant_id"])


def test_numeric_ids_read_as_text(tmp_path, hand_tables):
    hand_tables["units"]["task_id"] = hand_tables["units"]["task_id"].str[1:]  # "1", "2", "3"
    hand_tables["model_rationales"]["task_id"] = hand_tables["model_rationales"]["task_id"].str[1:]
    hand_tables["selections"]["task_id"] = hand_tables["selections"]["task_id"].str[1:]
    for fmt in ("csv", "parquet"):
        export = load_export(write_export(tmp_path / fmt, hand_tables, fmt))
        assert set(export.selections["task_id"]) == {"1", "2", "3"}


def _break(tables, name, column, row, value):
    df = tables[name].copy()
    df[column] = df[column].astype(object)
    df.loc[row, column] = value
    tables[name] = df
    return tables


@pytest.mark.parametrize(
    "name, column, row, value, message",
    [
        ("selections", "selected", 2, 2, "selections.csv: column 'selected', row 3: value 2 is not 0 or 1"),
        ("selections", "selected", 0, "yes", "selections.csv: column 'selected', row 1: value 'yes' is not 0 or 1"),
        (
            "model_rationales",
            "in_rationale",
            1,
            -1,
            "model_rationales.csv: column 'in_rationale', row 2: value -1 is not 0 or 1",
        ),
        ("units", "selectable", 4, 0.5, "units.csv: column 'selectable', row 5: value 0.5 is not 0 or 1"),
        ("selections", "task_id", 5, "t9", "selections.csv: column 'task_id', row 6: unknown task 't9' (not in units)"),
        ("selections", "unit_index", 1, 40, "selections.csv: column 'unit_index', row 2: unknown unit 40 of task 't1'"),
        # unit 6 of t1 would share t2/unit 0's key if keys were task * width + index without a range check
        ("selections", "unit_index", 1, 6, "selections.csv: column 'unit_index', row 2: unknown unit 6 of task 't1'"),
        (
            "selections",
            "unit_index",
            1,
            -1,
            "selections.csv: column 'unit_index', row 2: value -1 is not a non-negative integer",
        ),
        ("model_rationales", "task_id", 3, "zz", "model_rationales.csv: column 'task_id', row 4: unknown task 'zz'"),
        (
            "selections",
            "unit_index",
            1,
            0,
            "selections.csv: column 'selected', row 2: unit 0 of task 't1' is not selectable",
        ),
        ("selections", "unit_index", 1, 1, "selections.csv: column 'unit_index', row 2: duplicate row"),
        (
            "units",
            "unit_index",
            1,
            "x",
            "units.csv: column 'unit_index', row 2: value 'x' is not a non-negative integer",
        ),
        ("selections", "participant_id", 0, None, "selections.csv: column 'participant_id', row 1: empty value"),
        ("participants", "excluded", 1, 3, "participants.csv: column 'excluded', row 2: value 3 is not 0 or 1"),
    ],
)
def test_bad_value_names_file_column_and_row(tmp_path, hand_tables, name, column, row, value, message):
    folder = write_export(tmp_path, _break(hand_tables, name, column, row, value))
    with pytest.raises(ExportError) as error:
        load_export(folder)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_missing_column_and_missing_table(tmp_path, hand_tables):
    hand_tables["units"] = hand_tables["units"].drop(columns="category")
    folder = write_export(tmp_path, hand_tables)
    with pytest.raises(ExportError, match=r"^units.csv: missing column 'category' \(has: "):
        load_export(folder)
    (folder / "units.csv").unlink()
    with pytest.raises(ExportError, match="no units.parquet, units.csv or units.jsonl"):
        load_export(folder)
    with pytest.raises(ExportError, match="not a folder or a zip of one"):
        load_export(tmp_path / "nowhere")


def test_unreadable_file(tmp_path, hand_tables):
    folder = write_export(tmp_path, hand_tables, "parquet")
    (folder / "selections.parquet").write_bytes(b"not parquet")
    with pytest.raises(ExportError, match="^selections.parquet: cannot be read"):
        load_export(folder)


def test_empty_excluded_means_not_excluded(tmp_path, hand_tables):
    hand_tables["participants"]["excluded"] = pd.Series([None, 1, None], dtype=object)
    assert load_export(write_export(tmp_path, hand_tables)).excluded == ["p2"]


def test_tutorial_and_attention_responses_are_left_out(tmp_path, hand_tables):
    hand_tables["responses"] = pd.DataFrame(
        {
            "participant_id": ["p1", "p1", "p2", "p2", "p2"],
            "task_id": ["t1", "t2", "t1", "t2", "t3"],
            "kind": ["tutorial", "main", "main", "attention", "main"],
        }
    )
    export = load_export(write_export(tmp_path, hand_tables))
    pairs = set(zip(export.selections["participant_id"].astype(str), export.selections["task_id"].astype(str)))
    assert pairs == {("p1", "t2"), ("p2", "t1"), ("p2", "t3")}  # p3 excluded; p1/t1 tutorial, p2/t2 attention
    assert export.other_kinds == {"tutorial": 1, "attention": 1}


def test_the_report_counts_failed_attention_checks_per_participant(tmp_path, hand_tables):
    from analysis.report import exclusion_note

    hand_tables["responses"] = pd.DataFrame(
        {
            "participant_id": ["p1", "p1", "p1", "p2", "p2", "p3"],
            "task_id": ["a1", "a2", "t1", "a1", "a2", "a1"],
            "kind": ["attention", "attention", "main", "attention", "attention", "attention"],
            "attention_passed": [0, 0, None, 1, 0, 1],
        }
    )
    export = load_export(write_export(tmp_path, hand_tables))
    assert export.attention_failures == {"p1": 2, "p2": 1}  # p3 is marked excluded: dropped first
    assert exclusion_note(export, False).endswith(
        "4 attention responses were left out (only main tasks are analysed). 3 attention checks failed, "
        "by 2 of 2 participants who took one (p1: 2, p2: 1)."
    )


def test_a_zip_loads_as_its_folder_and_errors_name_the_zip(tmp_path, hand_tables):
    folder = write_export(tmp_path / "export", hand_tables)
    flat = shutil.make_archive(str(tmp_path / "flat"), "zip", folder)  # tables at the zip's root
    nested = shutil.make_archive(str(tmp_path / "nested"), "zip", tmp_path, "export")  # in export/
    expected = load_export(folder)
    for archive in (flat, nested):
        export = load_export(archive)
        pd.testing.assert_frame_equal(export.selections, expected.selections)
        assert export.excluded == expected.excluded == ["p3"]
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(flat) as src, zipfile.ZipFile(broken, "w") as dst:
        for name in src.namelist():
            if name != "units.csv":
                dst.writestr(name, src.read(name))
    with pytest.raises(ExportError, match=f"^{broken}: no units.parquet, units.csv or units.jsonl$"):
        load_export(broken)


def test_an_export_without_response_kinds_says_so(tmp_path, hand_tables, caplog):
    from analysis.io import NO_KINDS
    from analysis.report import exclusion_note

    export = load_export(write_export(tmp_path / "none", hand_tables))
    assert export.warnings == [NO_KINDS]
    assert [r.getMessage() for r in caplog.records if r.name == "analysis.io"] == [NO_KINDS]
    assert "Note: The export has no responses table with a kind column" in exclusion_note(export, False)
    hand_tables["responses"] = pd.DataFrame({"participant_id": ["p1"], "task_id": ["t1"], "kind": ["main"]})
    assert load_export(write_export(tmp_path / "kinds", hand_tables)).warnings == []


@pytest.mark.parametrize("categorical", [False, True])
def test_pairs_are_matched_as_a_string_multiindex_matches_them(categorical):
    """Integer codes find the same rows as comparing (participant, task) as strings."""
    from analysis.io import _in_pairs

    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {"participant_id": rng.choice(["p1", "p2", "p10", "q"], 500), "task_id": rng.choice(["t1", "t2", "a-1"], 500)}
    )
    if categorical:
        frame = frame.astype("category")
    pairs = pd.DataFrame({"participant_id": ["p1", "p10", "zz", "q"], "task_id": ["a-1", "t2", "t1", "nope"]})
    expected = pd.MultiIndex.from_arrays([frame[c].astype("str") for c in pairs.columns]).isin(
        pd.MultiIndex.from_frame(pairs.astype("str"))
    )
    assert expected.sum() > 20
    np.testing.assert_array_equal(_in_pairs(frame, pairs), expected)
