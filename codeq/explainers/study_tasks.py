"""Attach every configured explainer's unit scores, set and faithfulness to prepared tasks.

For each task the explainers look at the target token x_t of prompt + completion, from x_<t.
Token scores become unit scores by :func:`contract.token_alignment.unit_scores` (sum, a token split
equally among the units it overlaps). The set of a set-valued explainer (greedy) is its own; the
set of a score explainer is its top k selectable units (:func:`contract.token_alignment.top_units`)
with k the size of the task's greedy rationale, so every explainer highlights as many units and a
study can show any of them in phase 2. Faithfulness (:mod:`codeq.explainers.faithfulness`) is
measured on the model for that set.
"""

from __future__ import annotations

from dataclasses import replace

from tqdm.auto import tqdm

from codeq.explainers import explain
from codeq.explainers.faithfulness import erasure
from codeq.model.loading import LoadedModel
from contract.prepared_tasks import SCHEMA_VERSION, Explanation, Task
from contract.token_alignment import top_units, unit_scores


def explain_tasks(
    lm, tasks: list[Task], methods: list[str] | tuple[str, ...], progress: bool = True, **options
) -> list[Task]:
    """Return copies of ``tasks`` carrying an :class:`~contract.prepared_tasks.Explanation` per method.

    Greedy's comes from the task's own rationale (no second search). ``options`` go to
    :func:`codeq.explainers.explain` for every other method, so each must take them (``batch_size``).
    """
    model = lm.model if isinstance(lm, LoadedModel) else lm
    sequences = [[token.id for token in task.tokens] for task in tasks]
    found: dict[str, list[Explanation]] = {}
    for method in tqdm(methods, desc="explainers", unit="method", disable=None if progress else True):
        if method == "greedy":
            found[method] = [task.explanation("greedy") for task in tasks]
            continue
        results = explain(lm, sequences, [[task.target.token_index] for task in tasks], method, **options)
        found[method] = []
        for task, result in zip(tasks, results):
            scores = unit_scores(result.scores, task.tokens, task.target.unit_index)
            k = sum(u in task.selectable for u in task.rationale.units)
            found[method].append(Explanation(unit_scores=scores, units=top_units(scores, k, among=task.selectable)))
    requests, keys = [], []
    for method, per_task in found.items():
        for i, (task, e) in enumerate(zip(tasks, per_task)):
            chosen = set(e.units)
            positions = {j for j in range(task.target.token_index) if chosen & set(task.tokens[j].units)}
            requests.append((sequences[i], task.target.token_index, positions))
            keys.append((method, i))
    pad_id = getattr(getattr(lm, "tokenizer", None), "pad_token_id", None) or 0
    faithful = dict(zip(keys, erasure(model, requests, pad_id))) if requests else {}
    out = []
    for i, task in enumerate(tasks):
        explanations = {}
        for method in found:
            comprehensiveness, sufficiency = faithful[method, i]
            explanations[method] = replace(
                found[method][i], comprehensiveness=comprehensiveness, sufficiency=sufficiency
            )
        out.append(replace(task, explanations=explanations, schema_version=SCHEMA_VERSION))
    return out
