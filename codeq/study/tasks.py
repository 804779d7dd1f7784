"""Turn prompts into contract tasks: complete greedily, pick target tokens, rationalize them.

Shared by ``codeq prepare`` (study instruments) and ``codeq corpus run`` (global
explanations). A target is a token of the model's own completion (so the model predicts it under
full context) that starts a unit, whose unit has at least ``min_context_units`` selectable units
before it and, when ``categories`` is given, one of those categories. Candidates are tried in a
seeded order; with ``selection="converged"`` only targets whose rationale converged are kept and
further candidates are rationalized until each snippet has its targets or none are left.

Degenerate completions are screened (``codeq.source.screen``): a candidate is eligible only if the text up
to the end of its line parses without tree-sitter errors and no completion line up to there repeats
an earlier one. What the screen leaves out is reported per line (``ScreenedLine``), and every
candidate left out is counted per snippet and reason (``SnippetOutcome``), so an empty or thin
result can say which rule took the candidates.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections import Counter
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from codeq.model.completion import complete, decode, token_offsets
from codeq.model.loading import SequenceTooLongError
from codeq.rationales.search import Rationale, predicted_positions, rationalize
from codeq.source.screen import PARSE_ERROR, REPEATED_LINE, screen_reason
from codeq.source.units import code_units
from contract.errors import UserError
from contract.prepared_tasks import ModelInfo, Target, Task, Token, Unit
from contract.study_definition import SELECTIONS, TargetRules
from contract.token_alignment import align_tokens, starts_unit, unit_rationale

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snippet:
    """A prompt the model completes; tasks from it are named ``<task_prefix>-t<n>``."""

    snippet_id: str
    task_prefix: str
    prompt: str
    first_line: int = 1  # the prompt's first line in its file (header lines come before it)


# Why a candidate target was left out, in the order the rules are applied.
CONTEXT_SIZE = "context_size"  # fewer than min_context_units units before it
LINE_END = "line_end"  # a newline or indentation unit that the categories leave out
CATEGORY = "category"  # another unit the categories leave out
NOT_PREDICTED = "not_predicted"  # (rationalizing code as it is) the model predicts another token there
NOT_CONVERGED = "not_converged"  # its rationale did not converge (selection = "converged")
REASONS = (CONTEXT_SIZE, LINE_END, CATEGORY, PARSE_ERROR, REPEATED_LINE, NOT_PREDICTED, NOT_CONVERGED)
LAYOUT_CATEGORIES = ("newline", "indentation")


@dataclass(frozen=True)
class SnippetOutcome:
    """What became of one snippet's candidate targets."""

    snippet_id: str
    targets: int
    left_out: dict[str, int]  # reason -> candidates, for the reasons that left some out (REASONS order)
    untried: int  # eligible candidates not rationalized because the snippet had its targets
    excluded_categories: dict[str, int]  # category -> candidates the categories setting left out


@dataclass(frozen=True)
class ScreenedLine:
    """Candidate targets on one line of a completion that the screen left out, and why."""

    snippet: str  # the snippet's task prefix, unique across a study's tasks and tutorial
    line: int  # 1-based line number in prompt + completion
    text: str
    reason: str  # codeq.source.screen.PARSE_ERROR or REPEATED_LINE
    candidates: int


@dataclass
class _Draft:
    snippet: Snippet
    completion_text: str
    ids: list[int]
    units: list[Unit]
    tokens: list[Token]
    candidates: list[int]  # target positions not yet tried, in trial order
    screened: list[ScreenedLine]
    left_out: Counter  # reason -> candidates
    excluded: Counter  # category -> candidates left out by the categories setting
    chosen: list[Rationale] = field(default_factory=list)

    def outcome(self) -> SnippetOutcome:
        counts = {r: self.left_out[r] for r in REASONS if self.left_out[r]}
        excluded = dict(sorted(self.excluded.items(), key=lambda kv: (-kv[1], kv[0])))
        return SnippetOutcome(self.snippet.snippet_id, len(self.chosen), counts, len(self.candidates), excluded)


def target_candidates(
    tokens: list[Token],
    units: list[Unit],
    first_completion_token: int,
    rules: TargetRules,
    left_out: Counter | None = None,
    excluded: Counter | None = None,
) -> list[int]:
    """Return the token positions that may be targets, in text order.

    Tokens that start a unit are candidates; those the unit rules leave out are counted by reason in
    ``left_out`` and, for the categories rule, by their category in ``excluded``, when given.
    """
    found = []
    left_out = Counter() if left_out is None else left_out
    excluded = Counter() if excluded is None else excluded
    for token in tokens[first_completion_token:]:
        if not starts_unit(token, units):
            continue
        unit = units[token.units[0]]
        if unit.index < rules.min_context_units:
            left_out[CONTEXT_SIZE] += 1
        elif rules.categories is not None and unit.category not in rules.categories:
            left_out[LINE_END if unit.category in LAYOUT_CATEGORIES else CATEGORY] += 1
            excluded[unit.category] += 1
        else:
            found.append(token.index)
    return found


def screen_targets(
    text: str, completion_start: int, units: list[Unit], tokens: list[Token], candidates: list[int], language: str
) -> tuple[list[int], Counter]:
    """Split candidate positions into the eligible ones (in order) and a count of the others per
    (line index, reason). A target's line is the line of the unit it starts."""
    kept, screened, reasons = [], Counter(), {}
    for position in candidates:
        start = units[tokens[position].units[0]].start
        line = text.count("\n", 0, start)
        if line not in reasons:  # the verdict depends only on where the line ends
            reasons[line] = screen_reason(text, completion_start, start, language)
        if reasons[line] is None:
            kept.append(position)
        else:
            screened[line, reasons[line]] += 1
    return kept, screened


def _draft(lm, snippet: Snippet, rules: TargetRules) -> _Draft:
    try:
        completion = complete(lm, snippet.prompt, max_new_tokens=rules.max_new_tokens, language=rules.language)
    except SequenceTooLongError as err:
        raise SequenceTooLongError(f"snippet {snippet.snippet_id}: {err}; shorten it or lower max_new_tokens") from None
    text = snippet.prompt + completion.text
    units = code_units(text, rules.language)
    tokens = align_tokens(completion.offsets, completion.ids, units)
    left_out: Counter = Counter()
    excluded: Counter = Counter()
    candidates = target_candidates(tokens, units, len(completion.prompt_ids), rules, left_out, excluded)
    candidates, counts = screen_targets(text, len(snippet.prompt), units, tokens, candidates, rules.language)
    for (_, reason), n in counts.items():
        left_out[reason] += n
    lines = text.split("\n")
    screened = [
        ScreenedLine(snippet.task_prefix, line + 1, lines[line], reason, n)
        for (line, reason), n in sorted(counts.items())
    ]
    random.Random(f"{rules.seed}:{snippet.snippet_id}").shuffle(candidates)
    return _Draft(snippet, completion.text, completion.ids, units, tokens, candidates, screened, left_out, excluded)


def _draft_as_is(lm, snippet: Snippet, rules: TargetRules) -> _Draft:
    """Draft the snippet's own code without completing it: targets are tokens the model predicts itself."""
    ids = lm.tokenizer(snippet.prompt)["input_ids"]
    if decode(lm.tokenizer, ids) != snippet.prompt:
        raise UserError("the tokenizer does not reproduce this code when decoding it; offsets would be wrong")
    units = code_units(snippet.prompt, rules.language)
    tokens = align_tokens(token_offsets(lm.tokenizer, ids, snippet.prompt), ids, units)
    predicted = set(predicted_positions(lm, ids))
    left_out: Counter = Counter()
    excluded: Counter = Counter()
    found = target_candidates(tokens, units, 1, rules, left_out, excluded)
    candidates = [t for t in found if t in predicted]
    left_out[NOT_PREDICTED] = len(found) - len(candidates)
    random.Random(f"{rules.seed}:{snippet.snippet_id}").shuffle(candidates)
    return _Draft(snippet, "", ids, units, tokens, candidates, [], left_out, excluded)


def _select(lm, drafts: list[_Draft], rules: TargetRules, progress: bool) -> None:
    """Rationalize candidates in rounds, batched over snippets, until each draft has its targets."""
    for round_number in itertools.count(1):
        pending = []
        for draft in drafts:
            need = rules.targets_per_snippet - len(draft.chosen)
            if need > 0 and draft.candidates:
                pending.append((draft, draft.candidates[:need]))
                del draft.candidates[:need]
        if not pending:
            return
        rationales = rationalize(
            lm,
            [d.ids for d, _ in pending],
            [sorted(ts) for _, ts in pending],
            max_steps=rules.max_steps,
            progress=progress,
        )
        by_draft = {}
        for r in rationales:
            by_draft.setdefault(r.sequence_index, []).append(r)
        for k, (draft, _) in enumerate(pending):
            kept = [r for r in by_draft[k] if r.converged or rules.selection == "all"]
            draft.chosen.extend(kept)
            draft.left_out[NOT_CONVERGED] += len(by_draft[k]) - len(kept)
        log.info(
            "target round %d: %d candidates of %d snippets rationalized, %d converged",
            round_number,
            len(rationales),
            len(pending),
            sum(r.converged for r in rationales),
        )


def _task(draft: _Draft, number: int, rationale: Rationale, model: ModelInfo, language: str) -> Task:
    token = draft.tokens[rationale.target_position]
    unit = draft.units[token.units[0]]
    return Task(
        task_id=f"{draft.snippet.task_prefix}-t{number}",
        language=language,
        model=model,
        snippet_id=draft.snippet.snippet_id,
        prompt=draft.snippet.prompt,
        completion=draft.completion_text,
        units=draft.units,
        tokens=draft.tokens,
        target=Target(token_index=token.index, token_id=token.id, unit_index=unit.index, text=unit.text),
        rationale=unit_rationale(
            rationale.positions, rationale.probabilities, rationale.top_prediction, rationale.converged, draft.tokens
        ),
        context_start=0,
    )


def build_tasks(
    lm,
    snippets: list[Snippet],
    rules: TargetRules,
    dtype: str,
    screened: list[ScreenedLine] | None = None,
    progress: bool = True,
    completion: bool = True,
    outcomes: list[SnippetOutcome] | None = None,
) -> list[Task]:
    """Complete every snippet, choose and rationalize its targets, and return the tasks in order.

    Tasks of one snippet are numbered t1, t2, ... in text order of their targets. A snippet with
    fewer eligible targets than asked gives fewer tasks (the caller reports it). When ``screened``
    is a list, the lines whose candidates the screen left out are appended to it, in snippet order;
    when ``outcomes`` is a list, each snippet's :class:`SnippetOutcome` is.
    ``progress=False`` hides the progress bars (for callers that show their own). ``completion=False``
    rationalizes each snippet's own code instead of a completion of it (the task's completion is
    empty, and there is no completion to screen): any token after the first is a candidate if the
    model predicts it itself under full context and it meets the same unit rules.
    """
    if rules.selection not in SELECTIONS:
        raise UserError(f"unknown selection {rules.selection!r}: use {' or '.join(SELECTIONS)}")
    draft = _draft if completion else _draft_as_is
    drafts = [
        draft(lm, s, rules)
        for s in tqdm(snippets, desc="completing", unit="snippet", disable=None if progress else True)
    ]
    if screened is not None:
        screened.extend(line for draft in drafts for line in draft.screened)
    _select(lm, drafts, rules, progress)
    if outcomes is not None:
        outcomes.extend(draft.outcome() for draft in drafts)
    model = ModelInfo(name=lm.name, revision=lm.revision, dtype=dtype)
    tasks = []
    for draft in drafts:
        ordered = sorted(draft.chosen, key=lambda r: r.target_position)
        tasks.extend(_task(draft, n, r, model, rules.language) for n, r in enumerate(ordered, 1))
    return tasks
