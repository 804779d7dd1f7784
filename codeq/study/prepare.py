"""``codeq prepare instruments/<study>``: write tasks.jsonl, tutorial.jsonl and model_card.json.

tutorial.jsonl holds one task from the first snippet of the tutorial folder. Every study has one:
a missing tutorial folder, or a tutorial snippet without an eligible target, is an error (the study
app never shows a main task as the practice task).

The model card records ``prepared_from``, a hash of everything prepare reads, and
``prepared_from_parts``, one hash per part (the [model] and [prepare] settings, each snippet file,
each model file of a local model folder): ``load-study`` refuses tasks prepared from anything else
and names what changed. ``targets_by_snippet`` counts each snippet's targets and the candidates
each rule left out; ``warnings`` holds one line for each thing that still works but is probably a
mistake (a model card naming another language, a snippet that does not parse, files of another
language, a snippet short of targets and what would admit more, line-end targets).

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
from codeq.explainers.study_tasks import explain_tasks
from codeq.model.loading import load_model, model_languages
from codeq.source.screen import syntax_problem
from codeq.study.instrument import Study, StudyError, read_snippets, read_study
from codeq.study.target_report import advice, outcome_line
from codeq.study.tasks import LAYOUT_CATEGORIES, Snippet, SnippetOutcome, build_tasks
from contract.prepared_tasks import TASKS_FILE, Task, write_tasks
from contract.study_definition import SUFFIXES, ignored_files, preparation_hash

log = logging.getLogger(__name__)


class NoTargetsError(StudyError):
    """No snippet gave an eligible target; ``details`` says, per snippet, what the rules left out."""

    def __init__(self, message: str, details: list[str]):
        super().__init__(message)
        self.details = details


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


def language_warning(lm, language: str) -> str | None:
    """One line when the model's card names its languages and ``language`` is not one of them."""
    languages = model_languages(lm)
    if languages and language not in languages:
        return f"the model card of {lm.name} names {', '.join(languages)}, not {language}"
    return None


def file_warnings(study: Study) -> list[str]:
    """One line per snippet folder holding files the study's language does not read."""
    out = []
    suffix = SUFFIXES[study.rules.language]
    for folder in (study.snippets_dir, study.tutorial_dir):
        ignored = ignored_files(folder, study.rules.language)
        if ignored:
            names = ", ".join(p.name for p in ignored)
            out.append(f"ignored in {folder}: {names} (a {study.rules.language} study reads *{suffix} files only)")
    return out


def syntax_warnings(study: Study, snippets: list[Snippet]) -> list[str]:
    """One line per snippet with a syntax error (an unfinished end is no error), naming its line."""
    out = []
    for s in snippets:
        problem = syntax_problem(s.prompt, study.rules.language)
        if problem is not None:
            out.append(
                f"snippet {s.snippet_id} does not parse as {study.rules.language}: "
                f"a syntax error on line {problem.line + s.first_line - 1} ({problem.text})"
            )
    return out


def target_warnings(study: Study, tasks: list[Task], outcomes: list[SnippetOutcome]) -> list[str]:
    """One line per snippet short of targets (what each rule left out), what would admit more, and
    line-end targets."""
    wanted = study.rules.targets_per_snippet
    short = [o for o in outcomes if o.targets < wanted]
    out = [outcome_line(o, wanted) for o in short]
    if short:
        out.extend(advice(short, study.rules))
    layout = [t.task_id for t in tasks if t.units[t.target.unit_index].category in LAYOUT_CATEGORIES]
    if layout:
        out.append(
            f"{len(layout)} targets are line ends or indentation (first: {layout[0]}); "
            "list the target categories in [prepare] categories"
        )
    return out


def check_task_count(study: Study, tasks: list[Task]) -> None:
    """Refuse a study whose participants would get more tasks than there are."""
    wanted = study.definition.study.tasks_per_participant
    if wanted > len(tasks):
        raise StudyError(
            f"{study.folder / 'study.toml'} [study]: tasks_per_participant = {wanted} but prepare made only "
            f"{len(tasks)} tasks; lower it, or add snippets or targets_per_snippet"
        )


def read_tutorial(study: Study) -> list[Snippet]:
    """The tutorial snippets; a missing folder is named as missing."""
    if not study.tutorial_dir.is_dir():
        raise StudyError(
            f"{study.tutorial_dir}: no such tutorial folder ([prepare] tutorial); every study needs a "
            f"practice snippet there"
        )
    return read_snippets(study.tutorial_dir, f"{study.study_id}-tutorial", study.rules.language)


def prepare(folder: str | Path, lm=None, device: str = "cpu") -> dict:
    """Prepare the study in ``folder``; return the model card. ``lm`` overrides [model] name."""
    started = time.perf_counter()
    study = read_study(folder)
    snippets = read_snippets(study.snippets_dir, study.study_id, study.rules.language)
    tutorial = read_tutorial(study)
    if lm is None:
        lm = load_model(study.model_name, device=device, dtype=study.dtype)
    first = [w for w in (language_warning(lm, study.rules.language),) if w]
    screened, outcomes = [], []
    tasks = build_tasks(lm, snippets, study.rules, study.dtype, screened=screened, outcomes=outcomes)
    if not tasks:
        wanted = study.rules.targets_per_snippet
        details = first + [outcome_line(o, wanted) for o in outcomes] + advice(outcomes, study.rules)
        raise NoTargetsError(
            f"{study.folder}: no snippet gave an eligible target ({len(snippets)} snippets; why: above)", details
        )
    check_task_count(study, tasks)
    tutorial_tasks = build_tasks(
        lm, tutorial[:1], replace(study.rules, targets_per_snippet=1), study.dtype, screened=screened
    )
    if not tutorial_tasks:
        raise StudyError(
            f"{study.tutorial_dir}: the tutorial snippet {tutorial[0].snippet_id} gave no eligible target; "
            "change it (the study needs a practice task)"
        )
    tasks, tutorial_tasks = (explain_tasks(lm, ts, study.explainers) for ts in (tasks, tutorial_tasks))
    write_tasks(tasks, study.folder / TASKS_FILE)
    write_tasks(tutorial_tasks, study.folder / "tutorial.jsonl")
    card = model_card(study, lm, tasks, tutorial_tasks)
    card["snippets_short_of_targets"] = [o.snippet_id for o in outcomes if o.targets < study.rules.targets_per_snippet]
    card["targets_by_snippet"] = [asdict(o) for o in outcomes]
    card["screened_out"] = [asdict(line) for line in screened]
    card["prepared_from"] = preparation_hash(study.prepared_from)
    card["prepared_from_parts"] = study.prepared_from
    card["warnings"] = first + syntax_warnings(study, snippets) + file_warnings(study)
    card["warnings"] += target_warnings(study, tasks, outcomes)
    card["warnings"] += [w for w in (snippet_rule_warning(study, tasks),) if w]
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
