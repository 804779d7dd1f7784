"""Reading tasks.jsonl: a round trip keeps every byte, and each kind of bad line is one clear error."""

import json
from pathlib import Path

import pytest

from codeq.contract import ContractError, read_tasks, write_tasks

PILOT = Path(__file__).resolve().parents[2] / "instruments" / "pilot" / "tasks.jsonl"


def test_round_trip_is_byte_identical(tmp_path):
    write_tasks(read_tasks(PILOT), tmp_path / "tasks.jsonl")
    assert (tmp_path / "tasks.jsonl").read_bytes() == PILOT.read_bytes()


@pytest.mark.parametrize("edit, message", [
    (lambda d: "not json", r":2: Expecting value"),
    (lambda d: json.dumps({k: v for k, v in d.items() if k != "model"}), r":2: missing field 'model' \(not a codeq task\?\)"),
    (lambda d: json.dumps(d), r": duplicate task_id"),
    (lambda d: json.dumps({**d, "task_id": "new", "schema_version": 2}),
     r":2: schema_version 2 is newer than this codeq reads \(1\): upgrade codeq-study$"),
    (lambda d: json.dumps({**d, "task_id": "new", "schema_version": "1"}),
     r":2: schema_version must be a positive integer, got '1'$"),
])
def test_bad_lines_name_file_and_line(tmp_path, edit, message):
    first = PILOT.read_text().splitlines()[0]
    path = tmp_path / "tasks.jsonl"
    path.write_text(first + "\n" + edit(json.loads(first)) + "\n")
    with pytest.raises(ContractError, match=f"^{path}{message}"):
        read_tasks(path)
