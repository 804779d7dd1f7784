"""The export tables' schema: every column of every table, its type, unit, levels and range, and
each table's keys.

The one definition both sides of the export boundary use: the study app's writer orders, types and
checks its columns by it, its codebook and its Frictionless Data Package describe them (plus one
``q_<id>`` column per question in ``participants``); ``analysis.io`` reads the tables it requires,
the columns marked ``required``, their levels and the tables' keys from it. A new column is one
``Column`` line in its table's list. Light: the standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

FLAG = (0, 1)


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # string | integer | float | datetime | json
    description: str
    unit: str = ""
    levels: tuple = ()  # the allowed values of a categorical column, in the column's type
    observed: bool = False  # levels are the values found in the export (the taxonomy is data)
    required: bool = False  # the analysis needs it (an export made by other means must have it)
    free_text: bool = False  # typed by a person: CSV cells starting with = + - @ get a leading '
    filled: bool = False  # never empty (key columns are filled without saying so)
    minimum: float | None = None  # the smallest possible value, where one is known
    maximum: float | None = None


@dataclass(frozen=True)
class ForeignKey:
    """Every row's ``columns`` name a row of ``table`` (by the same column names)."""

    columns: tuple[str, ...]
    table: str


PID = Column(
    "participant_id",
    "string",
    "Pseudonymous participant id (keyed hash, stable across exports).",
    required=True,
    filled=True,
)
TASK = Column("task_id", "string", "Task id from tasks.jsonl (the data contract).", required=True, filled=True)
UNIT = Column(
    "unit_index",
    "integer",
    "Index of the code unit within its task (0-based, contract Unit.index).",
    required=True,
    filled=True,
    minimum=0,
)
# Without it (exports made before explainers existed) every row is greedy's: not required.
EXPLAINER = Column(
    "explainer",
    "string",
    "Explanation method (docs/explainers.md); greedy is the model's greedy rationale.",
    observed=True,
)
UTC = "ISO 8601, UTC"

COLUMNS: dict[str, list[Column]] = {
    "participants": [
        PID,
        Column("study", "string", "Study slug.", filled=True),
        Column(
            "study_version", "integer", "Version of the study definition the participant saw.", filled=True, minimum=1
        ),
        Column(
            "status",
            "string",
            "Furthest step reached.",
            levels=("consented", "questionnaire", "tutorial", "tasks", "finished", "declined"),
            filled=True,
        ),
        Column("excluded", "integer", "1 if a researcher excluded the participant, else 0.", levels=FLAG, filled=True),
        Column(
            "exclusion_reason",
            "string",
            "Reason the researcher gave for the exclusion; empty if not excluded.",
            free_text=True,
        ),
        Column(
            "outcome",
            "string",
            "How the study ended for the participant ([prolific] outcomes); empty while under way or left.",
            levels=("completed", "failed_attention", "screened_out"),
        ),
        Column(
            "code_shown",
            "string",
            "The code the end page showed: the outcome's code from [prolific]; 'personal' for a code drawn "
            "for this participant (in linkage.csv only); empty if none was shown.",
        ),
        Column(
            "started_at", "datetime", "When the participant opened the study (consent page).", unit=UTC, filled=True
        ),
        Column("finished_at", "datetime", "When the participant finished; empty if not finished.", unit=UTC),
        Column("duration_s", "float", "finished_at - started_at; empty if not finished.", unit="seconds", minimum=0),
        Column(
            "last_active_at",
            "datetime",
            "Last time the participant was heard from (an answer, the questionnaire, telemetry).",
            unit=UTC,
        ),
    ],
    "responses": [
        PID,
        TASK,
        Column("kind", "string", "Kind of task.", levels=("main", "tutorial", "attention"), filled=True),
        Column(
            "position",
            "integer",
            "Position of the task in the participant's sequence (1-based; the tutorial is 0).",
            filled=True,
            minimum=0,
        ),
        Column(
            "phase",
            "integer",
            "1 = participant's own selection, 2 = agreement with the model's rationale.",
            levels=(1, 2),
        ),
        Column("shown_at", "datetime", "Server time the task page was first served.", unit=UTC, filled=True),
        Column("submitted_at", "datetime", "Server time the answer was stored.", unit=UTC),
        Column("server_ms", "integer", "submitted_at - shown_at as seen by the server.", unit="milliseconds"),
        Column("active_ms", "integer", "Time the page had focus, measured by the browser.", unit="milliseconds"),
        Column(
            "confidence",
            "integer",
            "Self-rated confidence in the selection (1 lowest, 5 highest); empty if skipped.",
            unit="rating",
            minimum=1,
            maximum=5,
        ),
        Column(
            "would_predict",
            "string",
            "Answer to 'would you have predicted this token?'; empty if skipped.",
            levels=("yes", "no", "unsure"),
        ),
        Column(
            "agreement",
            "integer",
            "Phase 2: agreement with the model's reasons (5-point); empty in phase 1.",
            unit="rating",
            levels=(1, 2, 3, 4, 5),
        ),
        Column(
            "attention_passed", "integer", "Attention checks: 1 passed, 0 failed; empty for other tasks.", levels=FLAG
        ),
        Column(
            "n_selected",
            "integer",
            "Number of units the participant selected in this response.",
            unit="units",
            filled=True,
            minimum=0,
        ),
    ],
    "selections": [
        PID,
        TASK,
        UNIT,
        Column(
            "selected",
            "integer",
            "1 if the participant selected the unit in phase 1, else 0. One row per selectable unit of each answered task.",
            levels=FLAG,
            required=True,
            filled=True,
        ),
    ],
    "units": [
        TASK,
        UNIT,
        Column("text", "string", "The unit's source text (a newline unit is '\\n').", required=True),
        Column(
            "category", "string", "Programming category (codeq taxonomy).", observed=True, required=True, filled=True
        ),
        Column("group", "string", "Category group (codeq taxonomy).", observed=True, required=True, filled=True),
        Column(
            "selectable",
            "integer",
            "1 if participants could select the unit (context left of the target).",
            levels=FLAG,
            required=True,
            filled=True,
        ),
        Column(
            "is_target",
            "integer",
            "1 for the unit holding the model's predicted (boxed) token.",
            levels=FLAG,
            filled=True,
        ),
        Column(
            "start",
            "integer",
            "Start of the unit in prompt + completion.",
            unit="characters, 0-based",
            filled=True,
            minimum=0,
        ),
        Column("end", "integer", "End of the unit (exclusive).", unit="characters, 0-based", filled=True, minimum=0),
        Column("line", "integer", "Line the unit starts on.", unit="line, 1-based", filled=True, minimum=1),
    ],
    "model_rationales": [
        TASK,
        EXPLAINER,
        UNIT,
        Column(
            "in_rationale",
            "integer",
            "1 if the unit is in the explainer's set: greedy's own rationale; for a score explainer its top-k selectable units, k = the size of the task's greedy rationale (docs/explainers.md). One row per explainer and selectable unit.",
            levels=FLAG,
            required=True,
            filled=True,
        ),
        Column(
            "rank",
            "integer",
            "Place of the unit in the explainer's set (1 = entered first for greedy, highest score for the others); empty if not in it.",
            minimum=1,
        ),
        Column(
            "score",
            "float",
            "The explainer's unit score (token scores summed over the unit, a token split equally among the units it overlaps); higher = more important. Binary methods (greedy): 1 in the set, 0 not.",
            unit="method-specific",
        ),
        Column(
            "probability_gain",
            "float",
            "Greedy only: gain in p(target) of the step that brought the unit in; empty if not in it or another explainer.",
            unit="probability",
            minimum=-1,
            maximum=1,
        ),
    ],
    "explainers": [
        TASK,
        replace(EXPLAINER, required=True),
        Column(
            "set_valued",
            "integer",
            "1 if the explainer produces a set itself (greedy), 0 if its set is the top-k of its scores.",
            levels=FLAG,
            filled=True,
        ),
        Column(
            "set_size",
            "integer",
            "Units in the explainer's set (the k of its faithfulness).",
            unit="units",
            filled=True,
            minimum=0,
        ),
        Column(
            "comprehensiveness",
            "float",
            "ERASER comprehensiveness of the set: p(target | context) - p(target | context without the set's tokens); higher = more faithful. Empty when the set covers the whole context.",
            unit="probability",
            required=True,
            minimum=-1,
            maximum=1,
        ),
        Column(
            "sufficiency",
            "float",
            "ERASER sufficiency of the set: p(target | context) - p(target | the set's tokens only); lower = more faithful. Empty when the set is empty.",
            unit="probability",
            required=True,
            minimum=-1,
            maximum=1,
        ),
    ],
    "questionnaire": [
        PID,
        Column("question_id", "string", "Question id from the study's questionnaire.toml.", filled=True),
        Column("value", "string", "The answer as submitted.", free_text=True),
    ],
    "events": [
        PID,
        Column("task_id", "string", "Task the event happened on; empty for events outside a task."),
        Column("kind", "string", "Event kind (e.g. select, deselect, focus, blur).", filled=True),
        Column("client_ts", "integer", "Browser clock when the event happened.", unit="milliseconds since epoch"),
        Column("server_ts", "datetime", "Server time the event was stored.", unit=UTC, filled=True),
        Column("payload", "json", "Event details as a JSON object."),
    ],
}


# One row per key: the columns that identify a row of each table (events have no natural key).
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "participants": ("participant_id",),
    "responses": ("participant_id", "task_id", "phase"),
    "selections": ("participant_id", "task_id", "unit_index"),
    "units": ("task_id", "unit_index"),
    "model_rationales": ("task_id", "explainer", "unit_index"),
    "explainers": ("task_id", "explainer"),
    "questionnaire": ("participant_id", "question_id"),
    "events": (),
}
_UNIT = ForeignKey(("task_id", "unit_index"), "units")
_PARTICIPANT = ForeignKey(("participant_id",), "participants")
FOREIGN_KEYS: dict[str, tuple[ForeignKey, ...]] = {
    "participants": (),
    "responses": (_PARTICIPANT,),
    "selections": (_UNIT, _PARTICIPANT),
    "units": (),
    "model_rationales": (_UNIT,),
    "explainers": (),
    "questionnaire": (_PARTICIPANT,),
    "events": (_PARTICIPANT,),
}


def column(table: str, name: str) -> Column:
    """Return the schema of column ``name`` of ``table``."""
    for c in COLUMNS[table]:
        if c.name == name:
            return c
    raise KeyError(f"{table} has no column {name!r} in the export schema")


def is_filled(table: str, c: Column) -> bool:
    """True if column ``c`` of ``table`` may never be empty: marked so, or part of the table's key."""
    return c.filled or c.name in PRIMARY_KEYS[table]


def question_column(question_id: str) -> str:
    """Return the participants column holding the answer to ``question_id``."""
    return f"q_{question_id}"


# Tables the analysis cannot do without, and tables it uses when present.
ANALYSIS_TABLES = ("units", "selections", "model_rationales")
ANALYSIS_OPTIONAL_TABLES = ("participants", "responses", "explainers")


def required_columns(table: str) -> tuple[str, ...]:
    """The columns of ``table`` the analysis needs, in schema order."""
    return tuple(c.name for c in COLUMNS[table] if c.required)


def text_columns() -> tuple[str, ...]:
    """Required string columns: read as text whatever they look like ("007", "None", "NA" stay strings)."""
    names = [
        c.name
        for table in (*ANALYSIS_TABLES, *ANALYSIS_OPTIONAL_TABLES)
        for c in COLUMNS[table]
        if c.required and c.type == "string"
    ]
    return tuple(dict.fromkeys(names))
