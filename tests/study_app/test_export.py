"""Export: every exported value equals what the database holds, computed here independently.

The database is filled directly (``seed``), with known random selections, so these tests do not
depend on the participant pages. Expected values come from raw SQL and from tasks.jsonl itself.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from dataclasses import asdict
from datetime import datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from contract.prepared_tasks import Explanation, read_tasks
from study_app.admin.models import Exclusion
from study_app.export.bundle import build_export
from study_app.export.eraser import runs
from study_app.export.tables import ExportSchemaError, explainers_table, model_rationales_table, typed
from study_app.export.writers import linkage_bytes, render
from study_app.extensions import db
from study_app.models import Assignment, Event, Participant, QuestionnaireAnswer, Response, Selection, Study

T0 = datetime(2026, 3, 1, 9, 30, 0, 123456)


def seed(app, n_participants: int = 4, rng_seed: int = 0) -> None:
    """Store participants with known answers: 2 main tasks + the attention check, phases 1 and 2."""
    rng = random.Random(rng_seed)
    with app.app_context():
        study = db.session.scalar(sa.select(Study))
        tasks = {t.task_id: t for t in study.tasks}
        for i in range(n_participants):
            p = Participant(
                study_id=study.id,
                public_id=f"pub{i:04d}",
                resume_code=f"RC{i:04d}",
                prolific_pid=f"PROLIFIC{i:04d}",
                prolific_study_id="STUDY1",
                prolific_session_id=f"S{i}",
                status="finished" if i % 2 == 0 else "tasks",
                created_at=T0 + timedelta(minutes=i),
                finished_at=T0 + timedelta(minutes=i + 20, seconds=i) if i % 2 == 0 else None,
                completion_code=f"CC{i}" if i % 2 == 0 else None,
            )
            db.session.add(p)
            db.session.flush()
            for qid, value in (("role", "Student"), ("years_programming", str(3 + i))):
                db.session.add(QuestionnaireAnswer(participant_id=p.id, question_id=qid, value=value))
            order = rng.sample(["fx-0", "fx-1", "fx-2"], 2) + ["attention-1"]
            for pos, task_id in enumerate(order, 1):
                st = tasks[task_id]
                a = Assignment(participant_id=p.id, study_task_id=st.id, position=pos, kind=st.kind)
                db.session.add(a)
                db.session.flush()
                shown = T0 + timedelta(minutes=i + pos)
                payload = st.payload
                chosen = [
                    k for k in range(payload["context_start"], payload["target"]["unit_index"]) if rng.random() < 0.3
                ]
                attention = (rng.random() < 0.5) if st.kind == "attention" else None
                r1 = Response(
                    participant_id=p.id,
                    assignment_id=a.id,
                    phase=1,
                    shown_at=shown,
                    submitted_at=shown + timedelta(seconds=10 + pos, microseconds=500),
                    active_ms=9000 + pos,
                    confidence=rng.randint(1, 5),
                    would_predict="yes",
                    agreement=None,
                    attention_passed=attention,
                )
                db.session.add(r1)
                db.session.flush()
                db.session.add_all(Selection(response_id=r1.id, unit_index=k) for k in chosen)
                if st.kind == "main":
                    db.session.add(
                        Response(
                            participant_id=p.id,
                            assignment_id=a.id,
                            phase=2,
                            shown_at=shown + timedelta(seconds=30),
                            submitted_at=shown + timedelta(seconds=40),
                            active_ms=8000,
                            agreement=rng.randint(1, 5),
                        )
                    )
                db.session.add(
                    Event(
                        participant_id=p.id,
                        study_task_id=st.id,
                        kind="select",
                        payload={"unit": 3, "note": "é"},
                        client_ts=1_700_000_000_000 + pos,
                        server_ts=shown + timedelta(seconds=1),
                    )
                )
        db.session.commit()


@pytest.fixture
def seeded(app, loaded):
    seed(app)
    return app


def as_datetime(value) -> datetime:
    """Raw SQL gives SQLite datetimes as text and PostgreSQL ones as datetime."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def export_of(app, **kwargs):
    with app.app_context():
        return build_export("fixture", **kwargs)


def linkage_map(export) -> dict[str, str]:
    """Map public id -> pseudonym, read from the linkage file."""
    return dict(zip(export.linkage["public_id"], export.linkage["participant_id"]))


def test_responses_equal_database(seeded):
    export = export_of(seeded)
    names = linkage_map(export)
    with seeded.app_context():
        raw = db.session.execute(
            sa.text(
                "SELECT p.public_id, st.task_id, a.position, r.phase, r.active_ms, r.confidence, r.agreement, "
                "r.attention_passed, r.shown_at, r.submitted_at, "
                "(SELECT count(*) FROM selection s WHERE s.response_id = r.id) AS n_sel "
                "FROM response r JOIN assignment a ON a.id = r.assignment_id "
                "JOIN participant p ON p.id = r.participant_id JOIN study_task st ON st.id = a.study_task_id"
            )
        ).all()
    got = export.tables["responses"].set_index(["participant_id", "task_id", "phase"])
    assert len(got) == len(raw) == 4 * 3 + 4 * 2
    for row in raw:
        e = got.loc[(names[row.public_id], row.task_id, row.phase)]
        assert e["position"] == row.position
        assert e["n_selected"] == row.n_sel
        assert (None if pd.isna(e["confidence"]) else e["confidence"]) == row.confidence
        assert (None if pd.isna(e["agreement"]) else e["agreement"]) == row.agreement
        assert (None if pd.isna(e["attention_passed"]) else bool(e["attention_passed"])) == row.attention_passed
        shown, submitted = as_datetime(row.shown_at), as_datetime(row.submitted_at)
        assert e["server_ms"] == round((submitted - shown).total_seconds() * 1000)
        assert e["shown_at"] == pd.Timestamp(shown, tz="UTC")


def test_selections_cover_selectable_units_and_match_database(seeded, study_dir):
    export = export_of(seeded)
    names = linkage_map(export)
    tasks = {t.task_id: t for t in read_tasks(study_dir / "tasks.jsonl")}
    with seeded.app_context():
        raw = db.session.execute(
            sa.text(
                "SELECT p.public_id, st.task_id, s.unit_index FROM selection s JOIN response r ON r.id = s.response_id "
                "JOIN assignment a ON a.id = r.assignment_id JOIN participant p ON p.id = r.participant_id "
                "JOIN study_task st ON st.id = a.study_task_id WHERE r.phase = 1"
            )
        ).all()
    stored = {(names[r.public_id], r.task_id, r.unit_index) for r in raw}
    sel = export.tables["selections"]
    assert {
        tuple(r)
        for r in sel.loc[sel["selected"] == 1, ["participant_id", "task_id", "unit_index"]].itertuples(index=False)
    } == stored
    for (_, task_id), rows in sel.groupby(["participant_id", "task_id"]):
        base = tasks.get(task_id, tasks["fx-0"])  # the attention check reuses fx-0's code
        assert sorted(rows["unit_index"]) == list(base.selectable)
    assert not sel.duplicated(["participant_id", "task_id", "unit_index"]).any()


def test_units_and_model_rationales_follow_tasks_file(seeded, study_dir):
    export = export_of(seeded)
    units = export.tables["units"].set_index(["task_id", "unit_index"])
    for task in read_tasks(study_dir / "tasks.jsonl"):
        for u in task.units:
            row = units.loc[(task.task_id, u.index)]
            assert row["text"] == task.text[u.start : u.end]
            assert row["selectable"] == int(u.index in task.selectable)
    # fx-0 is "def add(a, b):\n    total = a + b\n    return total\n"; its target is the last "total"
    fx0 = units.loc["fx-0"]
    assert fx0.loc[18, "text"] == "total" and fx0.loc[18, "line"] == 3 and fx0.loc[18, "is_target"] == 1
    assert fx0.loc[0, "line"] == 1 and fx0.loc[0, "text"] == "def"
    # fx-0's rationale entered units 17, 1, 16 with gains 0.2, 0.3, 0.2
    rat = export.tables["model_rationales"]
    fx0r = rat[rat["task_id"] == "fx-0"].set_index("unit_index")
    assert list(fx0r.index) == list(range(18))
    assert fx0r.loc[[17, 1, 16], "rank"].tolist() == [1, 2, 3]
    assert fx0r.loc[[17, 1, 16], "probability_gain"].tolist() == pytest.approx([0.2, 0.3, 0.2])
    assert fx0r["in_rationale"].sum() == 3 and fx0r["rank"].isna().sum() == 15
    # tasks.jsonl is contract version 1: greedy rows only, its score the 1/0 of the rationale
    assert set(rat["explainer"]) == {"greedy"}
    assert fx0r["score"].tolist() == [float(k in (17, 1, 16)) for k in range(18)]


def test_every_stored_explainer_gets_rows_and_faithfulness(study_dir):
    tasks = {t.task_id: t for t in read_tasks(study_dir / "tasks.jsonl")}
    fx0 = tasks["fx-0"]
    scores = [k / 100 for k in range(fx0.target.unit_index)]
    fx0.explanations = {
        "integrated_gradients": Explanation(
            unit_scores=scores, units=[17, 16, 15], comprehensiveness=0.4, sufficiency=None
        )
    }
    payloads = {task_id: asdict(t) for task_id, t in tasks.items()}
    rat = model_rationales_table(payloads)
    ig = rat[(rat["task_id"] == "fx-0") & (rat["explainer"] == "integrated_gradients")].set_index("unit_index")
    assert list(ig.index) == list(fx0.selectable)
    assert ig["score"].tolist() == pytest.approx(scores)
    assert ig.loc[[17, 16, 15], "rank"].tolist() == [1, 2, 3] and ig["in_rationale"].sum() == 3
    assert ig["probability_gain"].isna().all()
    assert len(rat[(rat["task_id"] == "fx-0") & (rat["explainer"] == "greedy")]) == len(fx0.selectable)
    table = explainers_table(payloads).set_index(["task_id", "explainer"])
    assert table.loc[("fx-0", "integrated_gradients"), ["set_valued", "set_size", "comprehensiveness"]].tolist() == [
        0,
        3,
        0.4,
    ]
    assert pd.isna(table.loc[("fx-0", "integrated_gradients"), "sufficiency"])
    assert table.loc[("fx-0", "greedy"), ["set_valued", "set_size"]].tolist() == [1, 3]
    assert len(table) == len(tasks) + 1


def test_participants_questionnaire_and_events(seeded):
    export = export_of(seeded)
    people = export.tables["participants"].set_index("participant_id")
    names = linkage_map(export)
    p0 = people.loc[names["pub0000"]]
    assert p0["status"] == "finished" and p0["duration_s"] == pytest.approx(20 * 60)
    assert p0["q_role"] == "Student" and p0["q_years_programming"] == "3"
    assert pd.isna(p0["q_python_expertise"])  # asked but not answered in the seed
    assert pd.isna(people.loc[names["pub0001"], "finished_at"])
    assert len(export.tables["questionnaire"]) == 8
    events = export.tables["events"]
    assert len(events) == 12 and json.loads(events["payload"].iloc[0]) == {"note": "é", "unit": 3}


def test_codebook_describes_every_column_of_every_table(seeded):
    export = export_of(seeded)
    book = export.codebook
    described = set(zip(book["table"], book["column"]))
    exported = {(name, col) for name, df in export.tables.items() for col in df.columns}
    assert described == exported
    assert not book["description"].eq("").any()
    levels = book.set_index(["table", "column"])["levels"]
    assert levels[("units", "group")].split("|") == sorted(export.tables["units"]["group"].unique())
    assert "Student" in levels[("participants", "q_role")].split("|")
    ranges = book.set_index(["table", "column"])["range"]
    assert ranges[("responses", "confidence")] == "1 to 5" and ranges[("units", "line")] == ">= 1"
    assert levels[("responses", "phase")] == "1|2" and levels[("units", "selectable")] == "0|1"
    markdown = render(export, "csv")["codebook.md"].decode()
    assert (
        "## selections\n\nOne row per participant_id, task_id, unit_index. Every task_id, unit_index is one of `units`."
        in markdown
    )
    assert "## eraser/" in markdown and "U+2420" in markdown


def test_pseudonyms_stable_and_raw_ids_only_in_linkage(seeded):
    first, second = export_of(seeded), export_of(seeded)
    assert (
        first.tables["participants"]["participant_id"].tolist()
        == second.tables["participants"]["participant_id"].tolist()
    )
    files = render(first, "csv")
    assert "linkage.csv" not in files  # the shareable export never holds recruiter ids
    for name, data in files.items():
        text = data.decode()
        assert not any(raw in text for raw in ("pub0000", "PROLIFIC0000", "RC0000", "CC0")), name
    linkage = pd.read_csv(io.BytesIO(linkage_bytes(first)))
    assert set(linkage["participant_id"]) == set(first.tables["participants"]["participant_id"])
    assert linkage.set_index("public_id").loc["pub0002", "prolific_pid"] == "PROLIFIC0002"
    assert linkage.set_index("public_id").loc["pub0002", "completion_code"] == "CC2"


def test_pseudonyms_depend_on_export_key(seeded):
    a = export_of(seeded)
    seeded.config["EXPORT_KEY"] = "another key"
    b = export_of(seeded)
    assert set(a.tables["participants"]["participant_id"]).isdisjoint(b.tables["participants"]["participant_id"])


def test_parquet_round_trips(seeded):
    export = export_of(seeded)
    files = render(export, "parquet")
    for name, df in export.tables.items():
        back = pd.read_parquet(io.BytesIO(files[f"{name}.parquet"]))
        pd.testing.assert_frame_equal(back, df, check_dtype=True)


def test_jsonl_and_csv_hold_the_same_values(seeded):
    export = export_of(seeded)
    csv = pd.read_csv(io.BytesIO(render(export, "csv")["selections.csv"]))
    jsonl = pd.read_json(io.BytesIO(render(export, "jsonl")["selections.jsonl"]), lines=True)
    pd.testing.assert_frame_equal(csv, jsonl, check_dtype=False)
    assert csv["selected"].sum() == export.tables["selections"]["selected"].sum()


def test_exclusions_are_recorded_and_optionally_dropped(seeded):
    with seeded.app_context():
        p = db.session.scalar(sa.select(Participant).where(Participant.public_id == "pub0001"))
        db.session.add(Exclusion(participant_id=p.id, reason="straight-lined"))
        db.session.commit()
    kept = export_of(seeded)
    name = linkage_map(kept)["pub0001"]
    row = kept.tables["participants"].set_index("participant_id").loc[name]
    assert row["excluded"] == 1 and row["exclusion_reason"] == "straight-lined"
    assert kept.tables["participants"]["excluded"].sum() == 1
    dropped = export_of(seeded, drop_excluded=True)
    for df in (dropped.tables[t] for t in ("participants", "responses", "selections", "questionnaire", "events")):
        assert name not in set(df["participant_id"]) and len(df) > 0
    assert len(dropped.tables["participants"]) == 3 and name not in set(dropped.linkage["participant_id"])


def test_eraser_annotations_mirror_selections(seeded):
    export = export_of(seeded)
    sel = export.tables["selections"]
    assert len(export.eraser) == len(sel.groupby(["participant_id", "task_id"]))
    for ann in export.eraser:
        pid, task_id = ann["annotation_id"].split(":")
        picked = set(
            sel[(sel["participant_id"] == pid) & (sel["task_id"] == task_id) & (sel["selected"] == 1)]["unit_index"]
        )
        spans = [(e["start_token"], e["end_token"]) for group in ann["evidences"] for e in group]
        assert {k for s, e in spans for k in range(s, e)} == picked
        assert ann["docids"] == [task_id]
    classes = {a["annotation_id"].split(":")[1]: a["classification"] for a in export.eraser}
    assert classes.get("fx-0", "total") == "total"
    docs = {d["docid"]: d["document"] for d in export.documents}
    # fx-0 is "def add(a, b):\n    total = a + b\n    return total\n"
    assert docs["fx-0"].startswith("def add ( a , b ) : \u21b5 \u2420\u2420\u2420\u2420 total = a + b \u21b5")


@pytest.mark.parametrize(
    "indices, expected",
    [([], []), ([3], [(3, 4)]), ([1, 2, 3, 7, 9, 10], [(1, 4), (7, 8), (9, 11)]), ([5, 4], [(4, 6)])],
)
def test_runs(indices, expected):
    assert runs(indices) == expected


def test_export_command_writes_every_file(seeded, runner, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(args=["export", "--format", "parquet", str(out)])
    assert result.exit_code == 0, result.output
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert names == {
        f"{t}.parquet"
        for t in (
            "participants",
            "responses",
            "selections",
            "units",
            "model_rationales",
            "explainers",
            "questionnaire",
            "events",
        )
    } | {"codebook.csv", "codebook.md", "datapackage.json"} | {
        f"eraser/{name}.jsonl" for name in ("docs", "test", "train", "val", "predictions/greedy")
    }
    zipped = tmp_path / "x.zip"
    assert runner.invoke(args=["export", "--format", "csv", str(zipped)]).exit_code == 0
    assert "responses.csv" in zipfile.ZipFile(zipped).namelist()
    assert "linkage.csv" not in zipfile.ZipFile(zipped).namelist()


def test_linkage_only_with_the_flag_and_outside_the_export(seeded, runner, tmp_path):
    private = tmp_path / "private" / "linkage.csv"
    result = runner.invoke(args=["export", str(tmp_path / "out"), "--linkage", str(private)])
    assert result.exit_code == 0, result.output
    assert "linkage.csv" not in {p.name for p in (tmp_path / "out").rglob("*")}
    linkage = pd.read_csv(private)
    assert sorted(linkage["prolific_pid"]) == [f"PROLIFIC{i:04d}" for i in range(4)]
    assert oct(private.stat().st_mode & 0o777) == "0o600"
    inside = runner.invoke(args=["export", str(tmp_path / "out"), "--linkage", str(tmp_path / "out" / "l.csv")])
    assert inside.exit_code != 0 and "keep recruiter ids apart" in inside.output and "Traceback" not in inside.output


def test_free_text_cannot_become_a_spreadsheet_formula(seeded):
    with seeded.app_context():
        db.session.execute(
            sa.text("UPDATE questionnaire_answer SET value = '=HYPERLINK(\"http://x\")' WHERE question_id = 'role'")
        )
        db.session.commit()
        first = db.session.scalar(sa.text("SELECT id FROM participant ORDER BY id"))
        db.session.add(Exclusion(participant_id=first, reason="@SUM(A1)"))
        db.session.commit()
    export = export_of(seeded)
    files = render(export, "csv")
    answers = pd.read_csv(io.BytesIO(files["questionnaire.csv"]), dtype=str)
    roles = set(answers.loc[answers["question_id"] == "role", "value"])
    assert roles == {'\'=HYPERLINK("http://x")'}
    assert set(answers.loc[answers["question_id"] == "years_programming", "value"]) == {"3", "4", "5", "6"}
    people = pd.read_csv(io.BytesIO(files["participants.csv"]), dtype=str)
    assert set(people["q_role"]) == {'\'=HYPERLINK("http://x")'}
    assert set(people["exclusion_reason"].dropna()) == {"'@SUM(A1)"}
    # code is data: unit texts such as '=' or '-' stay exact, and other formats keep every value as typed
    units = pd.read_csv(io.BytesIO(files["units.csv"]), dtype=str, keep_default_na=False)
    assert set(units["text"]) == set(export.tables["units"]["text"])
    raw = pd.read_json(io.BytesIO(render(export, "jsonl")["questionnaire.jsonl"]), lines=True, dtype=False)
    assert set(raw.loc[raw["question_id"] == "role", "value"]) == {'=HYPERLINK("http://x")'}


def test_export_command_one_line_errors(app, runner, tmp_path):
    result = runner.invoke(args=["export", str(tmp_path / "o")])
    assert result.exit_code != 0 and "no study in the database" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(args=["export", "--format", "xls", str(tmp_path / "o")])
    assert result.exit_code != 0 and "xls" in result.output


def test_linkage_ids_round_trip_exactly(seeded):
    with seeded.app_context():
        db.session.execute(sa.text("UPDATE participant SET public_id = '-' || public_id"))
        db.session.execute(sa.text("UPDATE participant SET prolific_session_id = '=S1' WHERE public_id = '-pub0001'"))
        db.session.commit()
    export = export_of(seeded)
    linkage = pd.read_csv(io.BytesIO(linkage_bytes(export)), dtype=str, keep_default_na=False)
    assert sorted(linkage["public_id"]) == [f"-pub{i:04d}" for i in range(4)]
    assert linkage.set_index("public_id").loc["-pub0001", "prolific_session_id"] == "=S1"
    pd.testing.assert_frame_equal(linkage, export.linkage.fillna("").astype(str))


@pytest.mark.parametrize(
    "row, message",
    [
        (
            {"participant_id": "p", "task_id": "t", "unit_index": 0, "selectd": 1},
            "selections row 2: unknown column 'selectd'",
        ),
        ({"participant_id": "p", "task_id": "t", "unit_index": 0}, "selections row 2: no column 'selected'"),
    ],
)
def test_a_row_with_an_unknown_or_missing_column_is_refused(row, message):
    good = {"participant_id": "p", "task_id": "t", "unit_index": 1, "selected": 0}
    with pytest.raises(ExportSchemaError) as error:
        typed([good, row], "selections")
    assert str(error.value).startswith(message) and "\n" not in str(error.value)
