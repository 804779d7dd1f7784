"""Read a study instrument folder (``instruments/<study>/``) for ``codeq prepare``.

Only the ``[study]``, ``[model]`` and ``[prepare]`` tables are read here; other tables (the study
app's ``[annotation]``, ``[tutorial]``, ``[[attention_checks]]``) are ignored. The format is
documented in docs/instruments.md. Errors name the file and the key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from codeq.contract import EXPLAINERS
from codeq.taxonomy import LANGUAGES, load_taxonomy
from codeq.tasks import SELECTIONS, Snippet, TargetRules

SUFFIXES = {"python": ".py", "java": ".java", "javascript": ".js"}
# Header lines naming where a snippet was cut from: kept in the file for researchers, not shown to the model.
_HEADER = re.compile(r"^(#|//)\s*source:.*(\r?\n|$)")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class StudyError(ValueError):
    """A study folder is not usable; the message names the file and the key."""


@dataclass(frozen=True)
class Study:
    folder: Path
    study_id: str
    model_name: str
    dtype: str
    rules: TargetRules
    snippets_dir: Path
    tutorial_dir: Path
    explainers: tuple[str, ...] = ("greedy",)


def _get(table: dict, key: str, kind, where: str, default=None, required=False):
    """Return ``table[key]`` checked against ``kind``; raise StudyError naming ``where``.key."""
    if key not in table:
        if required:
            raise StudyError(f"{where}: missing required key {key!r}")
        return default
    value = table[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise StudyError(f"{where}: {key} must be an integer, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise StudyError(f"{where}: {key} must be a string, got {value!r}")
    if kind is list and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise StudyError(f"{where}: {key} must be a list of strings, got {value!r}")
    return value


def read_study(folder: str | Path) -> Study:
    """Read and check ``folder/study.toml``."""
    folder = Path(folder)
    path = folder / "study.toml"
    if not path.is_file():
        raise StudyError(f"{path}: no such file (is {folder} a study folder?)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise StudyError(f"{path}: not valid TOML ({err})") from None
    for table in ("study", "model", "prepare"):
        if not isinstance(data.get(table), dict):
            raise StudyError(f"{path}: missing table [{table}]")
    study, model, prep = data["study"], data["model"], data["prepare"]
    where = f"{path} [study]"
    study_id = _get(study, "id", str, where, required=True)
    if not _ID.match(study_id):
        raise StudyError(f"{where}: id {study_id!r} must be letters, digits, '-', '_' or '.'")
    where = f"{path} [model]"
    model_name = _get(model, "name", str, where, required=True)
    dtype = _get(model, "dtype", str, where, "fp32")
    if dtype not in ("fp32", "bf16", "fp16"):
        raise StudyError(f"{where}: dtype must be fp32, bf16 or fp16, got {dtype!r}")
    where = f"{path} [prepare]"
    language = _get(prep, "language", str, where, required=True)
    if language not in LANGUAGES:
        raise StudyError(f"{where}: language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    selection = _get(prep, "selection", str, where, "converged")
    if selection not in SELECTIONS:
        raise StudyError(f"{where}: selection must be one of {', '.join(SELECTIONS)}, got {selection!r}")
    categories = _get(prep, "categories", list, where)
    unknown = sorted(set(categories or ()) - set(load_taxonomy(language).categories))
    if unknown:
        raise StudyError(f"{where}: categories has {unknown[0]!r}, not a {language} category")
    explainers = _get(prep, "explainers", list, where, ["greedy"])
    unknown = [name for name in explainers if name not in EXPLAINERS]
    if unknown or len(set(explainers)) != len(explainers):
        raise StudyError(f"{where}: explainers has {unknown[0] if unknown else 'a repeated name'!r}; "
                         f"choose among {', '.join(EXPLAINERS)}")
    numbers = {}
    for key, default, least in [("targets_per_snippet", None, 1), ("min_context_units", 10, 0),
                                ("max_new_tokens", 64, 1), ("seed", 0, 0), ("max_steps", 50, 1)]:
        numbers[key] = _get(prep, key, int, where, default, required=default is None)
        if numbers[key] < least:
            raise StudyError(f"{where}: {key} must be at least {least}, got {numbers[key]}")
    rules = TargetRules(language=language, selection=selection,
                        categories=tuple(categories) if categories is not None else None, **numbers)
    return Study(folder=folder, study_id=study_id, model_name=model_name, dtype=dtype, rules=rules,
                 snippets_dir=folder / _get(prep, "snippets", str, where, "snippets"),
                 tutorial_dir=folder / _get(prep, "tutorial", str, where, "tutorial"),
                 explainers=tuple(explainers))


def read_snippets(folder: Path, study_id: str, language: str, required: bool = True) -> list[Snippet]:
    """Read every snippet file of ``folder`` (sorted by name), its ``source:`` header lines removed.

    The prompt ends where its last line's text ends: byte-level BPE merges a line break with the
    next line's indentation into one token, so a prompt ending in a bare line break is a boundary the
    model hardly saw in training (it then tends to stop at once). The model writes the line break.
    """
    suffix = SUFFIXES[language]
    files = sorted(folder.glob(f"*{suffix}")) if folder.is_dir() else []
    if not files and required:
        raise StudyError(f"{folder}: no {suffix} snippet files")
    snippets = []
    for path in files:
        if not _ID.match(path.stem):
            raise StudyError(f"{path}: file name must be letters, digits, '-', '_' or '.'")
        text = path.read_text(encoding="utf-8")
        while (m := _HEADER.match(text)):
            text = text[m.end():]
        text = text.rstrip()
        if not text.strip():
            raise StudyError(f"{path}: the snippet is empty")
        snippets.append(Snippet(snippet_id=path.stem, task_prefix=f"{study_id}-{path.stem}", prompt=text))
    return snippets
