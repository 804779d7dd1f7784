"""``codeq prepare instruments/<study>``: write tasks.jsonl, tutorial.jsonl and model_card.json.

tutorial.jsonl holds one task from the first snippet of the tutorial folder; without tutorial
snippets (or an eligible target in them) no tutorial.jsonl is written.

The model card records ``prepared_from``, a hash of the snippets and the [model] and [prepare]
settings (``load-study`` refuses tasks prepared from anything else), and ``warnings``: one line
each for what still works but is probably a mistake (a snippet that does not parse, one short of
targets, no tutorial task, a model card naming another language, line-end targets).

Deterministic: the same study folder and model give byte-identical files (keys sorted, no
timestamps, seeded target order, greedy decoding).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path

import codeq
from codeq.contract import Task, write_tasks
from codeq.explainers.study_tasks import explain_tasks
from codeq.instrument import Study, StudyError, read_snippets, read_study
from codeq.loading import load_model, model_languages
from codeq.tasks import Snippet, build_tasks
from codeq.units import parser_for

log = logging.getLogger(__name__)

# Units that are only layout: a target there asks participants why the model broke a line.
LAYOUT_CATEGORIES = ("newline", "indentation")


def model_card(study: Study, lm, tasks: list[Task], tutorial: list[Task]) -> dict:
    """Describe the model and settings that produced the tasks."""
    rules = study.rules
    return {
        "study": study.study_id,
        "model": lm.name,
        "revision": lm.revision,
        "dtype": study.dtype,
        "parameters": sum(p.numel() for p in lm.model.parameters()),
        "codeq_version": codeq.__version__,
        "language": rules.language,
        "seed": rules.seed,
        "selection": rules.selection,
        "targets_per_snippet": rules.targets_per_snippet,
        "categories": rules.categories,
        "min_context_units": rules.min_context_units,
        "max_new_tokens": rules.max_new_tokens,
        "max_steps": rules.max_steps,
        "tasks": len(tasks),
        "tutorial_tasks": len(tutorial),
        "converged": sum(t.rationale.converged for t in tasks),
        "explainers": list(study.explainers),
    }


def short_of_targets(snippets: list[Snippet], tasks: list[Task], wanted: int) -> dict[str, int]:
    """Snippet id -> tasks made, for the snippets with fewer than ``wanted`` tasks, in snippet order."""
    counts = Counter(t.snippet_id for t in tasks)
    return {s.snippet_id: counts[s.snippet_id] for s in snippets if counts[s.snippet_id] < wanted}


def tasks_one_participant_can_get(tasks: list[Task], per_snippet: int) -> int:
    """How many tasks one participant can get when at most ``per_snippet`` come from one snippet."""
    return sum(min(n, per_snippet) for n in Counter(t.snippet_id for t in tasks).values())


def snippet_rule_warning(study: Study, tasks: list[Task]) -> str | None:
    """A line when ``[study] tasks_per_snippet`` leaves participants fewer tasks than ``tasks_per_participant``."""
    info = study.definition.study
    most = tasks_one_participant_can_get(tasks, info.tasks_per_snippet)
    if most >= info.tasks_per_participant:
        return None
    return (
        f"tasks_per_participant = {info.tasks_per_participant} but with tasks_per_snippet = "
        f"{info.tasks_per_snippet} a participant can get only {most} tasks "
        f"({len({t.snippet_id for t in tasks})} snippets): add snippets or raise [study] tasks_per_snippet"
    )


def preparation_warnings(
    study: Study, lm, snippets: list[Snippet], tasks: list[Task], tutorial: list[Task]
) -> list[str]:
    """Return one line for each thing that works but is probably a mistake."""
    rules = study.rules
    out = []
    parser = parser_for(rules.language)
    for s in snippets:
        if parser.parse(s.prompt.encode()).root_node.has_error:
            out.append(f"snippet {s.snippet_id} does not parse as {rules.language} (a syntax error)")
    for snippet_id, n in short_of_targets(snippets, tasks, rules.targets_per_snippet).items():
        out.append(f"snippet {snippet_id} has {n} of {rules.targets_per_snippet} targets")
    if not tutorial:
        out.append(
            f"no tutorial task (no snippet in {study.tutorial_dir} gave a target): "
            "the study app will use the first task as the tutorial"
        )
    languages = model_languages(lm)
    if languages and rules.language not in languages:
        out.append(f"the model card of {lm.name} names {', '.join(languages)}, not {rules.language}")
    snippet_rule = snippet_rule_warning(study, tasks)
    if snippet_rule is not None:
        out.append(snippet_rule)
    layout = [t.task_id for t in tasks if t.units[t.target.unit_index].category in LAYOUT_CATEGORIES]
    if layout:
        out.append(
            f"{len(layout)} targets are line ends or indentation (first: {layout[0]}); "
            "list the target categories in [prepare] categories"
        )
    return out


def prepare(folder: str | Path, lm=None, device: str = "cpu") -> dict:
    """Prepare the study in ``folder``; return the model card. ``lm`` overrides [model] name."""
    started = time.perf_counter()
    study = read_study(folder)
    snippets = read_snippets(study.snippets_dir, study.study_id, study.rules.language)
    tutorial = read_snippets(study.tutorial_dir, f"{study.study_id}-tutorial", study.rules.language, required=False)
    if lm is None:
        lm = load_model(study.model_name, device=device, dtype=study.dtype)
    screened = []
    tasks = build_tasks(lm, snippets, study.rules, study.dtype, screened=screened)
    if not tasks:
        raise StudyError(f"{study.folder}: no snippet gave an eligible target; relax [prepare] settings")
    tutorial_tasks = build_tasks(
        lm, tutorial[:1], replace(study.rules, targets_per_snippet=1), study.dtype, screened=screened
    )
    tasks, tutorial_tasks = (explain_tasks(lm, ts, study.explainers) for ts in (tasks, tutorial_tasks))
    write_tasks(tasks, study.folder / "tasks.jsonl")
    if tutorial_tasks:
        write_tasks(tutorial_tasks, study.folder / "tutorial.jsonl")
    else:  # without a tutorial file the study app uses the first task as the tutorial
        (study.folder / "tutorial.jsonl").unlink(missing_ok=True)
    card = model_card(study, lm, tasks, tutorial_tasks)
    card["snippets_short_of_targets"] = list(short_of_targets(snippets, tasks, study.rules.targets_per_snippet))
    card["screened_out"] = [asdict(line) for line in screened]
    card["prepared_from"] = study.prepared_from
    card["warnings"] = preparation_warnings(study, lm, snippets, tasks, tutorial_tasks)
    log.info(
        "prepared %s: %d tasks (%d converged) from %d snippets with %s in %.1f s",
        study.folder,
        len(tasks),
        card["converged"],
        len(snippets),
        lm.name,
        time.perf_counter() - started,
    )
    (study.folder / "model_card.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return card
