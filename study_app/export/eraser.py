"""ERASER-style rationale annotations (DeYoung et al., ACL 2020, https://doi.org/10.18653/v1/2020.acl-main.408).

One annotation per phase-1 response; the "document" of a task is its list of code units, so
evidence token spans are unit index spans (end-exclusive). Documents go to ``docs.jsonl``.
"""

from __future__ import annotations

import pandas as pd

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
    texts = {(r.task_id, r.unit_index): r.text for r in tables["units"].itertuples()}
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
                "text": "".join(texts[(task_id, k)] for k in range(s, e)),
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


def eraser_documents(units: pd.DataFrame) -> list[dict]:
    """Return one document per task: its unit texts in order (token i = unit i)."""
    return [
        {"docid": task_id, "tokens": rows.sort_values("unit_index")["text"].tolist()}
        for task_id, rows in units.groupby("task_id", sort=True)
    ]
