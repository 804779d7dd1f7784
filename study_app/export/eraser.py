"""ERASER files (DeYoung et al., ACL 2020, https://doi.org/10.18653/v1/2020.acl-main.408), as ERASER's
own loaders (``rationale_benchmark.utils``) and metrics (``rationale_benchmark.metrics``) read them.

The "document" of a task is its code units, one ERASER token per unit in unit order
(:mod:`contract.eraser_tokens`), all on one line: token spans are unit index spans (end-exclusive).
One annotation per phase-1 response goes to ``test.jsonl``; each explainer's rationales for every
annotation go to ``predictions/<explainer>.jsonl``, the results file ``metrics.py`` scores.
"""

from __future__ import annotations

import pandas as pd

from contract.eraser_tokens import unit_token

QUERY = "Which code units made the model predict its next token?"


def runs(indices: list[int]) -> list[tuple[int, int]]:
    """Return the maximal runs of consecutive indices as end-exclusive (start, end) spans."""
    spans: list[tuple[int, int]] = []
    for i in sorted(indices):
        if spans and spans[-1][1] == i:
            spans[-1] = (spans[-1][0], i + 1)
        else:
            spans.append((i, i + 1))
    return spans


def eraser_annotations(tables: dict[str, pd.DataFrame], targets: dict[str, str]) -> list[dict]:
    """Return one ERASER annotation per (participant, task) of the ``selections`` table.

    All runs of one selection form a single evidence group: together they are the participant's
    rationale. ``targets`` maps task id to the target token text (the classification).
    """
    tokens = document_tokens(tables["units"])
    chosen = tables["selections"]
    keys = ["participant_id", "task_id"]
    # one vectorised pass: per-group boolean indexing is minutes for a thousand participants
    picks = chosen[chosen["selected"] == 1].groupby(keys, sort=False)["unit_index"].agg(list).to_dict()
    out = []
    for pid, task_id in chosen[keys].drop_duplicates().sort_values(keys).itertuples(index=False):
        picked = [int(k) for k in picks.get((pid, task_id), [])]
        group = [
            {
                "docid": task_id,
                "start_token": s,
                "end_token": e,
                "start_sentence": -1,
                "end_sentence": -1,
                "text": " ".join(tokens[task_id][s:e]),
            }
            for s, e in runs(picked)
        ]
        out.append(
            {
                "annotation_id": f"{pid}:{task_id}",
                "query": QUERY,
                "query_type": None,
                "docids": [task_id],
                "evidences": [group] if group else [],
                "classification": targets[task_id],
            }
        )
    return out


def document_tokens(units: pd.DataFrame) -> dict[str, list[str]]:
    """Return each task's ERASER tokens by task id: token i is unit i."""
    ordered = units.sort_values(["task_id", "unit_index"])
    return {
        str(task_id): [unit_token(t) for t in rows["text"]] for task_id, rows in ordered.groupby("task_id", sort=True)
    }


def eraser_documents(units: pd.DataFrame) -> list[dict]:
    """Return one ERASER document per task: its unit tokens joined by single spaces, on one line."""
    return [{"docid": task_id, "document": " ".join(tokens)} for task_id, tokens in document_tokens(units).items()]


def explainer_rationales(units: pd.DataFrame, rationales: pd.DataFrame) -> dict[str, dict[str, dict]]:
    """Return, by explainer and task, the ERASER rationale of the explainer's set and scores.

    ``hard_rationale_predictions`` are the runs of the units in the set (``in_rationale``: greedy's
    own rationale, the top-k units of a score explainer); ``soft_rationale_predictions`` one score
    per token. Units the explainer does not score (outside the selectable range) get a score below
    every scored unit of the task, so they rank last and leave ranking metrics of the scored units as
    they are.
    """
    sizes = units.groupby("task_id", sort=False)["unit_index"].max().astype(int) + 1
    out: dict[str, dict[str, dict]] = {}
    for (explainer, task_id), rows in rationales.groupby(["explainer", "task_id"], sort=True):
        index = rows["unit_index"].astype(int).to_numpy()
        scores = rows["score"].astype(float).to_numpy()
        floor = (scores.min() if len(scores) else 0.0) - 1.0
        soft = [floor] * int(sizes[task_id])
        for k, score in zip(index, scores):
            soft[k] = float(score)
        chosen = [int(k) for k in index[rows["in_rationale"].to_numpy() == 1]]
        out.setdefault(str(explainer), {})[str(task_id)] = {
            "docid": str(task_id),
            "hard_rationale_predictions": [{"start_token": s, "end_token": e} for s, e in runs(chosen)],
            "soft_rationale_predictions": soft,
        }
    return out


def eraser_predictions(tables: dict[str, pd.DataFrame], annotations: list[dict]) -> dict[str, list[dict]]:
    """Return each explainer's ERASER results: one instance per human annotation, in their order.

    An explainer stored with only some tasks has instances for the annotations of those tasks.
    """
    by_explainer = explainer_rationales(tables["units"], tables["model_rationales"])
    return {
        explainer: [
            {"annotation_id": a["annotation_id"], "rationales": [rationale[a["docids"][0]]]}
            for a in annotations
            if a["docids"][0] in rationale
        ]
        for explainer, rationale in by_explainer.items()
    }
