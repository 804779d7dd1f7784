"""The ERASER folder of an export, read the way ERASER's own loaders and metrics read it.

``eraser_view`` rebuilds, independently of the writer, what ``rationale_benchmark.utils`` does with
the files (a document's lines split on single spaces, spans of tokens joined by single spaces) and
``metrics.py``'s token-level F1 and average precision; every document, evidence and prediction is
checked against the units, the selections and tasks.jsonl, and the scores against the project's
own plausibility figures on the same responses.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import sqlalchemy as sa
from sklearn.metrics import average_precision_score
from sqlalchemy.orm.attributes import flag_modified
from test_export import export_of, seed

import analysis
from analysis.plausibility import explainer_units, plausibility
from contract.eraser_tokens import ESCAPE, unit_text, unit_token
from contract.prepared_tasks import read_tasks
from study_app.export.writers import render, write_dir
from study_app.extensions import db
from study_app.models import StudyTask

SCORED = "integrated_gradients"
STORED = ("fx-0", "fx-1")  # the tasks the score explainer is stored with


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def eraser_view(folder) -> tuple[dict[str, list[str]], list[dict]]:
    """ERASER's load_flattened_documents and annotations_from_jsonl, rewritten here: docs and test annotations."""
    docs = {}
    for d in read_jsonl(folder / "docs.jsonl"):
        docs[d["docid"]] = [token for line in d["document"].split("\n") for token in line.strip().split(" ")]
    return docs, read_jsonl(folder / "test.jsonl")


def token_sets(annotation: dict) -> set[int]:
    return {t for group in annotation["evidences"] for ev in group for t in range(ev["start_token"], ev["end_token"])}


def token_macro_f1(truth: dict[str, set[int]], pred: dict[str, set[int]]) -> float:
    """metrics.py's token_prf instance_macro F1: the mean F1 over instances with a truth or a prediction."""
    f1s = []
    for key in set(k for k, v in truth.items() if v) | set(k for k, v in pred.items() if v):
        t, p = truth.get(key, set()), pred.get(key, set())
        precision = len(t & p) / len(p) if p else 0.0
        recall = len(t & p) / len(t) if t else 0.0
        f1s.append(0.0 if precision == 0 or recall == 0 else 2 * precision * recall / (precision + recall))
    return float(np.mean(f1s))


@pytest.fixture
def scored(app, loaded):
    """Seeded answers, and a score explainer stored with fx-0 and fx-1 (random scores, top-3 set)."""
    rng = random.Random(7)
    with app.app_context():
        for st in db.session.scalars(sa.select(StudyTask).where(StudyTask.task_id.in_(STORED))):
            payload = dict(st.payload)
            n = payload["target"]["unit_index"]
            scores = [rng.uniform(-1, 1) for _ in range(n)]
            chosen = sorted(range(payload["context_start"], n), key=lambda k: -scores[k])[:3]
            payload["explanations"] = {
                SCORED: {"unit_scores": scores, "units": chosen, "comprehensiveness": 0.1, "sufficiency": 0.2}
            }
            st.payload = payload
            flag_modified(st, "payload")
        db.session.commit()
    seed(app, n_participants=6, rng_seed=5)
    return app


def test_documents_have_one_token_per_unit_and_evidence_is_its_tokens(scored, tmp_path):
    export = export_of(scored)
    write_dir(render(export, "csv"), tmp_path)
    docs, annotations = eraser_view(tmp_path / "eraser")
    units = export.tables["units"]
    assert set(docs) == set(units["task_id"])
    for task_id, rows in units.groupby("task_id"):
        texts = rows.sort_values("unit_index")["text"].tolist()
        assert len(docs[task_id]) == len(texts)
        assert [unit_text(t) for t in docs[task_id]] == texts
    assert any(" " in t or "\n" in t for t in units["text"])  # indentation and line ends were encoded
    sel = export.tables["selections"]
    picked = sel[sel["selected"] == 1].groupby(["participant_id", "task_id"])["unit_index"].agg(set).to_dict()
    assert len(annotations) == len(sel[["participant_id", "task_id"]].drop_duplicates())
    for ann in annotations:
        pid, task_id = ann["annotation_id"].split(":")
        assert token_sets(ann) == picked.get((pid, task_id), set())
        for ev in (ev for group in ann["evidences"] for ev in group):
            assert ev["text"] == " ".join(docs[ev["docid"]][ev["start_token"] : ev["end_token"]])
    assert (tmp_path / "eraser" / "train.jsonl").read_text() == (tmp_path / "eraser" / "val.jsonl").read_text() == ""


def test_predictions_score_like_the_plausibility_metrics(scored, study_dir, tmp_path):
    export = export_of(scored)
    write_dir(render(export, "csv"), tmp_path)
    docs, annotations = eraser_view(tmp_path / "eraser")
    tasks = {t.task_id: t for t in read_tasks(study_dir / "tasks.jsonl")}
    truth = {a["annotation_id"]: token_sets(a) for a in annotations}
    loaded = analysis.load_export(tmp_path)
    scores, _ = plausibility(explainer_units(loaded.selections, loaded.units, loaded.explainer_scores))
    assert sorted(p.name for p in (tmp_path / "eraser" / "predictions").iterdir()) == [
        "greedy.jsonl",
        f"{SCORED}.jsonl",
    ]
    for explainer in ("greedy", SCORED):
        instances = read_jsonl(tmp_path / "eraser" / "predictions" / f"{explainer}.jsonl")
        with_task = [a["annotation_id"] for a in annotations if explainer == "greedy" or a["docids"][0] in STORED]
        assert [i["annotation_id"] for i in instances] == with_task
        pred, soft = {}, {}
        for inst in instances:
            (rat,) = inst["rationales"]
            doc = docs[rat["docid"]]
            assert len(rat["soft_rationale_predictions"]) == len(doc)
            spans = [(h["start_token"], h["end_token"]) for h in rat["hard_rationale_predictions"]]
            pred[inst["annotation_id"]] = {t for s, e in spans for t in range(s, e)}
            soft[inst["annotation_id"]] = rat["soft_rationale_predictions"]
            task = tasks.get(rat["docid"], tasks["fx-0"])  # the attention check reuses fx-0's code
            if explainer == "greedy":
                assert pred[inst["annotation_id"]] == set(task.rationale.units) & set(task.selectable)
        # the responses the plausibility figures score: main tasks answered with a selection
        chosen = {k: v for k, v in truth.items() if v and k in pred and not k.endswith(":attention-1")}
        mine = scores[scores["explainer"] == explainer].assign(
            annotation_id=lambda d: d["participant_id"] + ":" + d["task_id"]
        )
        mine = mine[mine["annotation_id"].isin(chosen)]
        assert len(mine) == len(chosen) > 0
        if explainer == "greedy":
            assert token_macro_f1(chosen, {k: pred[k] for k in chosen}) == pytest.approx(mine["f1_set"].mean())
        average_precision = [
            average_precision_score([int(t in chosen[k]) for t in range(len(soft[k]))], soft[k]) for k in chosen
        ]
        assert np.mean(average_precision) == pytest.approx(mine["auprc"].mean())


@pytest.mark.parametrize(
    "text",
    ["    ", "\n", "'a b'", "\t\r\n", "", "x\u00a0y", "\u2420\u21b5\u241b", "\u241b000020", "é\u3000", "def"],
)
def test_unit_tokens_have_no_whitespace_and_decode_exactly(text):
    token = unit_token(text)
    assert token and not any(c.isspace() for c in token)
    assert token.split(" ") == [token] == token.strip().split(" ")
    assert unit_text(token) == text


def test_unit_token_symbols():
    assert unit_token("    x = 'a b'\n") == "\u2420" * 4 + "x\u2420=\u2420'a\u2420b'\u21b5"
    assert unit_token("\u00a0") == ESCAPE + "0000A0" and unit_token("") == ESCAPE
