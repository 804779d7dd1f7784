"""Reading tasks.jsonl: a round trip keeps every byte, and each kind of bad line is one clear error."""

import json
from pathlib import Path

import pytest

from contract.prepared_tasks import SCHEMA_VERSION, ContractError, Explanation, read_tasks, write_tasks

PILOT = Path(__file__).resolve().parents[2] / "instruments" / "pilot" / "tasks.jsonl"


def test_round_trip_is_byte_identical(tmp_path):
    write_tasks(read_tasks(PILOT), tmp_path / "tasks.jsonl")
    assert (tmp_path / "tasks.jsonl").read_bytes() == PILOT.read_bytes()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: "not json", r":2: Expecting value"),
        (
            lambda d: json.dumps({k: v for k, v in d.items() if k != "model"}),
            r":2: missing field 'model' \(not a codeq task\?\)",
        ),
        (lambda d: json.dumps(d), r": duplicate task_id"),
        (
            lambda d: json.dumps({**d, "task_id": "new", "schema_version": SCHEMA_VERSION + 1}),
            rf":2: schema_version {SCHEMA_VERSION + 1} is newer than this codeq reads \({SCHEMA_VERSION}\): upgrade codeq-study$",
        ),
        (
            lambda d: json.dumps({**d, "task_id": "new", "schema_version": "1"}),
            r":2: schema_version must be a positive integer, got '1'$",
        ),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, edit, message):
    first = PILOT.read_text().splitlines()[0]
    path = tmp_path / "tasks.jsonl"
    path.write_text(first + "\n" + edit(json.loads(first)) + "\n")
    with pytest.raises(ContractError, match=f"^{path}{message}"):
        read_tasks(path)


def test_version_1_tasks_read_with_greedy_from_the_rationale(tmp_path):
    d = json.loads(PILOT.read_text().splitlines()[0])
    d.pop("explanations", None)  # a task as version 1 wrote it, whatever version the pilot is at
    d["schema_version"] = 1
    (tmp_path / "v1.jsonl").write_text(json.dumps(d) + "\n")
    task = read_tasks(tmp_path / "v1.jsonl")[0]
    assert task.schema_version == 1 and task.explanations == {}
    assert task.explainer_names() == ["greedy"]
    greedy = task.explanation("greedy")
    assert greedy.units == task.rationale.units
    assert len(greedy.unit_scores) == task.target.unit_index
    assert [k for k, s in enumerate(greedy.unit_scores) if s == 1.0] == sorted(task.rationale.units)
    assert set(greedy.unit_scores) <= {0.0, 1.0}
    with pytest.raises(ContractError, match="has no 'occlusion' explanation .*add it to \\[prepare\\] explainers"):
        task.explanation("occlusion")


def test_explanations_round_trip(tmp_path):
    task = read_tasks(PILOT)[0]
    n = task.target.unit_index
    task.schema_version = SCHEMA_VERSION
    task.explanations = {
        "occlusion": Explanation(unit_scores=[0.25] * n, units=[n - 1, 0], comprehensiveness=0.5, sufficiency=None)
    }
    write_tasks([task], tmp_path / "t.jsonl")
    back = read_tasks(tmp_path / "t.jsonl")[0]
    assert back.explanations == task.explanations
    assert back.explainer_names() == ["greedy", "occlusion"]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(schema_version=SCHEMA_VERSION + 1), "newer than this codeq reads"),
        (lambda d: d.update(explanations={"lime": {"unit_scores": [], "units": []}}), "unknown explainer 'lime'"),
        (lambda d: d.update(explanations={"attention": {"unit_scores": [0.1], "units": []}}), "1 unit_scores for"),
        (
            lambda d: d.update(
                explanations={
                    "attention": {
                        "unit_scores": [0.0] * d["target"]["unit_index"],
                        "units": [d["target"]["unit_index"]],
                    }
                }
            ),
            "left of the target",
        ),
    ],
)
def test_bad_explanations(tmp_path, edit, message):
    d = json.loads(PILOT.read_text().splitlines()[0])
    edit(d)
    (tmp_path / "t.jsonl").write_text(json.dumps(d) + "\n")
    with pytest.raises(ContractError, match=message):
        read_tasks(tmp_path / "t.jsonl")
