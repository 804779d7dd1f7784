"""A stored study's typed definition: what load-study read, read back from the database."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa

from contract.prepared_tasks import read_tasks
from contract.study_definition import OutcomeCode, read_definition
from study_app.extensions import db
from study_app.instrument import load_instrument
from study_app.models import Study
from study_app.stored_definition import stored_definition
from study_app.studies import import_study

PILOT = Path(__file__).parents[2] / "instruments" / "pilot"


def test_the_stored_pilot_reads_back_as_its_definition(app):
    with app.app_context():
        import_study(load_instrument(PILOT))
        db.session.expunge_all()  # read the row back from the database, not the session
        study = db.session.scalar(sa.select(Study))
        # a stored study has no folder and keeps no [model]/[prepare] tables as written
        assert study.definition == replace(read_definition(PILOT), folder=Path(), preparation={})
        assert study.definition.annotation.explainer == "greedy"
        assert [c.id for c in study.definition.attention_checks] == ["attention-1", "attention-2"]


def test_expected_units_are_the_base_tasks_units_with_the_checks_text(app):
    tasks = read_tasks(PILOT / "tasks.jsonl")
    first = tasks[0]  # neither pilot check names a base task
    line_ends = [k for k in first.selectable if first.units[k].text == "\n"]
    defs = [k for k in first.selectable if first.units[k].text == "def"]
    with app.app_context():
        study, _ = import_study(load_instrument(PILOT))
        assert study.expected_units == {"attention-1": line_ends, "attention-2": defs}
        assert line_ends and defs


def test_a_study_stored_before_the_newer_keys_gets_their_defaults():
    config = copy.deepcopy(load_instrument(PILOT).config)
    for key in ("answers_per_task", "inactive_after", "tasks_per_snippet"):
        del config["study"][key]
    del config["annotation"]["explainer"]
    del config["prolific"]
    config["study"]["completion_code"] = "C0DE1234"  # where the code lived before [prolific]
    config["study"]["completion_redirect"] = "https://app.prolific.com/submissions/complete?cc=C0DE1234"
    config["questions"][0]["label"] = "Role"  # a key no definition has any more
    old = stored_definition(config)
    assert old.study.answers_per_task is None
    assert old.study.inactive_after == 60
    assert old.study.tasks_per_snippet == 1
    assert old.annotation.explainer == "greedy"
    assert old.prolific.attention_failures == 2
    assert old.prolific.completed == OutcomeCode(
        "C0DE1234", "https://app.prolific.com/submissions/complete?cc=C0DE1234"
    )
    assert old.prolific.failed_attention == old.prolific.screened_out == old.prolific.full == OutcomeCode(None, "")
    assert old.questions[0].text == "Which best describes your current role?"
    assert old.study.title == "Which code matters to a code model?"
