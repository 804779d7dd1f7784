"""A study instrument folder (``instruments/<study>/``) as ``codeq prepare`` needs it.

study.toml is read by :mod:`contract.study_definition`, the reader the study app uses too; here its
``[model]`` and ``[prepare]`` tables become the engine's target rules, and the snippets are read.
The format is documented in docs/instruments.md. Errors name the file and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from codeq.study.tasks import Snippet
from contract.study_definition import (
    ID,
    SUFFIXES,
    StudyDefinition,
    StudyError,
    TargetRules,
    preparation_parts,
    read_definition,
    snippet_files,
)

__all__ = ["Study", "StudyError", "read_snippets", "read_study"]

# Header lines naming where a snippet was cut from: kept in the file for researchers, not shown to the model.
_HEADER = re.compile(r"^(#|//)\s*source:.*(\r?\n|$)")


@dataclass(frozen=True)
class Study:
    folder: Path
    study_id: str
    model_name: str
    dtype: str
    rules: TargetRules
    snippets_dir: Path
    tutorial_dir: Path
    definition: StudyDefinition
    prepared_from: dict[str, str]  # preparation_parts of the folder as read
    explainers: tuple[str, ...] = ("greedy",)


def read_study(folder: str | Path) -> Study:
    """Read and check ``folder`` (study.toml, questionnaire.toml, consent.md) for preparing it."""
    definition = read_definition(folder)
    model, prep = definition.for_prepare()
    return Study(
        folder=definition.folder,
        study_id=definition.study.id,
        model_name=model.name,
        dtype=model.dtype,
        rules=prep.target_rules(),
        snippets_dir=definition.snippets_dir,
        tutorial_dir=definition.tutorial_dir,
        definition=definition,
        prepared_from=preparation_parts(definition),
        explainers=tuple(prep.explainers),
    )


def read_snippets(folder: Path, study_id: str, language: str) -> list[Snippet]:
    """Read every snippet file of ``folder`` (sorted by name), its ``source:`` header lines removed.

    The prompt ends where its last line's text ends: byte-level BPE merges a line break with the
    next line's indentation into one token, so a prompt ending in a bare line break is a boundary the
    model hardly saw in training (it then tends to stop at once). The model writes the line break.
    """
    if not folder.is_dir():
        raise StudyError(f"{folder}: no such folder")
    files = snippet_files(folder, language)
    if not files:
        raise StudyError(f"{folder}: no {SUFFIXES[language]} snippet files")
    snippets = []
    for path in files:
        if not ID.match(path.stem):
            raise StudyError(f"{path}: file name must be letters, digits, '-', '_' or '.'")
        text = path.read_text(encoding="utf-8")
        first_line = 1
        while m := _HEADER.match(text):
            text = text[m.end() :]
            first_line += 1
        text = text.rstrip()
        if not text.strip():
            raise StudyError(f"{path}: the snippet is empty")
        snippets.append(
            Snippet(snippet_id=path.stem, task_prefix=f"{study_id}-{path.stem}", prompt=text, first_line=first_line)
        )
    return snippets
