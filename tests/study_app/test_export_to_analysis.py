"""From a simulated study through the export to the analysis, in each format, without a browser.

The expected values are computed here from the database rows and tasks.jsonl, and the kappa with
scikit-learn, independently of the export writer and of the analysis reader.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from frictionless import validate
from sklearn.metrics import cohen_kappa_score
from test_export import export_of, linkage_map, seed

import analysis
from contract.export_schema import COLUMNS
from contract.prepared_tasks import read_tasks
from study_app.export.writers import render, write_dir
from study_app.extensions import db
from study_app.models import Assignment, Participant, Response, StudyTask


def expected_selections(app) -> dict[tuple[str, str], set[int]]:
    """(public id, task id) -> selected unit indices of every phase-1 answer to a main task."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Participant.public_id, StudyTask.task_id, Response.id)
            .join(Assignment, Assignment.participant_id == Participant.id)
            .join(StudyTask, StudyTask.id == Assignment.study_task_id)
            .join(Response, Response.assignment_id == Assignment.id)
            .where(Response.phase == 1, StudyTask.kind == "main")
        ).all()
        out = {}
        for public_id, task_id, response_id in rows:
            picked = db.session.scalars(
                sa.text("SELECT unit_index FROM selection WHERE response_id = :r"), {"r": response_id}
            ).all()
            out[(public_id, task_id)] = set(picked)
        return out


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_simulated_study_reaches_the_analysis_intact(app, loaded, study_dir, tmp_path, fmt):
    seed(app, n_participants=5, rng_seed=3)
    export = export_of(app)
    write_dir(render(export, fmt), tmp_path / fmt)
    assert validate(str(tmp_path / fmt / "datapackage.json")).valid
    for table, columns in COLUMNS.items():  # the writer follows the schema the reader uses
        assert list(export.tables[table].columns)[: len(columns)] == [c.name for c in columns]

    loaded_export = analysis.load_export(tmp_path / fmt)
    names = linkage_map(export)
    truth = {(names[pub], task): picked for (pub, task), picked in expected_selections(app).items()}
    assert loaded_export.warnings == [] and loaded_export.other_kinds == {"attention": 5}

    tasks = {t.task_id: t for t in read_tasks(study_dir / "tasks.jsonl")}
    data = analysis.response_units(loaded_export.selections, loaded_export.units, loaded_export.model_rationales)
    got = {
        (str(p), str(t)): set(rows.loc[rows["selected"] == 1, "unit_index"].astype(int))
        for (p, t), rows in data.groupby(["participant_id", "task_id"], observed=True)
    }
    assert got == truth

    scores = analysis.alignment_scores(data).set_index(["participant_id", "task_id"])
    assert len(scores) == len(truth) == 10
    for (pid, task_id), picked in truth.items():
        task = tasks[task_id]
        human = [int(k in picked) for k in task.selectable]
        model = [int(k in task.rationale.units) for k in task.selectable]
        row = scores.loc[(pid, task_id)]
        assert (row["n_human"], row["n_model"]) == (sum(human), sum(model))
        if len(set(human)) > 1 and len(set(model)) > 1:
            assert row["kappa"] == pytest.approx(cohen_kappa_score(human, model))
