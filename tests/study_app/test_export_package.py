"""The export as a Frictionless Data Package: ``frictionless validate`` accepts what the app writes
and rejects a copy whose selections name a unit that does not exist or whose levels are unknown."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from frictionless import validate
from test_export import export_of, seed

from study_app.export.writers import render, write_dir

FRICTIONLESS = Path(sys.executable).with_name("frictionless")


def error_types(package: Path) -> set[tuple[str, str]]:
    """(resource, error type) of every error frictionless finds in the package."""
    report = validate(str(package))
    return {(task.name, error.type) for task in report.tasks for error in task.errors}


@pytest.fixture
def seeded(app, loaded):
    seed(app)
    return app


@pytest.fixture
def csv_export(seeded, tmp_path) -> Path:
    write_dir(render(export_of(seeded), "csv"), tmp_path / "csv")
    return tmp_path / "csv"


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_every_format_is_a_valid_data_package(seeded, tmp_path, fmt):
    export = export_of(seeded)
    write_dir(render(export, fmt), tmp_path)
    assert error_types(tmp_path / "datapackage.json") == set()
    package = json.loads((tmp_path / "datapackage.json").read_text())
    assert [r["name"] for r in package["resources"]] == list(export.tables)
    assert all((tmp_path / r["path"]).is_file() for r in package["resources"])
    assert (package["name"], package["version"], package["licenses"]) == ("fixture", "1", [])
    assert package["title"] == export.title and datetime.fromisoformat(package["created"])
    assert (tmp_path / package["sources"][0]["path"]).name == "codebook.md"
    schemas = {r["name"]: r["schema"] for r in package["resources"]}
    assert schemas["selections"]["primaryKey"] == ["participant_id", "task_id", "unit_index"]
    assert {(tuple(fk["fields"]), fk["reference"]["resource"]) for fk in schemas["selections"]["foreignKeys"]} == {
        (("task_id", "unit_index"), "units"),
        (("participant_id",), "participants"),
    }
    fields = {(t, f["name"]): f for t, s in schemas.items() for f in s["fields"]}
    assert fields[("selections", "selected")]["constraints"] == {"required": True, "enum": [0, 1]}
    assert fields[("responses", "confidence")]["constraints"] == {"minimum": 1, "maximum": 5}
    assert fields[("units", "group")]["constraints"]["enum"] == sorted(export.tables["units"]["group"].unique())
    assert fields[("participants", "q_role")]["constraints"]["enum"][0] == "Student"
    assert fields[("events", "payload")]["type"] == "object"


def test_the_command_line_validator_accepts_the_export(csv_export):
    done = subprocess.run([FRICTIONLESS, "validate", "datapackage.json"], cwd=csv_export, capture_output=True)
    assert done.returncode == 0, done.stdout.decode()[-2000:]


def test_a_dangling_selection_is_rejected(csv_export, tmp_path):
    broken = shutil.copytree(csv_export, tmp_path / "broken")
    sel = pd.read_csv(broken / "selections.csv", dtype=str)
    extra = sel.iloc[[0]].assign(unit_index="999", participant_id=sel["participant_id"].iloc[0])
    pd.concat([sel, extra]).to_csv(broken / "selections.csv", index=False)
    assert error_types(broken / "datapackage.json") == {("selections", "foreign-key")}


def test_an_unknown_level_is_rejected(csv_export, tmp_path):
    broken = shutil.copytree(csv_export, tmp_path / "broken")
    people = pd.read_csv(broken / "participants.csv", dtype=str, keep_default_na=False)
    people.loc[0, "status"] = "abandoned"
    people.to_csv(broken / "participants.csv", index=False)
    units = pd.read_csv(broken / "units.csv", dtype=str, keep_default_na=False)
    units.loc[0, "selectable"] = "2"
    units.to_csv(broken / "units.csv", index=False)
    assert error_types(broken / "datapackage.json") == {
        ("participants", "constraint-error"),
        ("units", "constraint-error"),
    }
