"""Say why snippets gave fewer targets than asked: what each rule left out, and what would admit more.

``codeq prepare`` prints these lines as warnings for a thin result and before its error for an
empty one. Each candidate (a token of the completion that starts a unit) is counted under the
first rule that left it out (``codeq.study.tasks.REASONS``).
"""

from __future__ import annotations

from codeq.source.screen import PARSE_ERROR, REPEATED_LINE
from codeq.study.tasks import (
    CATEGORY,
    CONTEXT_SIZE,
    LINE_END,
    NOT_CONVERGED,
    NOT_PREDICTED,
    REASONS,
    SnippetOutcome,
    TargetRules,
)
from contract.study_definition import SUFFIXES

LABELS = {
    CONTEXT_SIZE: "too little context",
    LINE_END: "line end",
    CATEGORY: "category",
    PARSE_ERROR: "does not parse",
    REPEATED_LINE: "repeated line",
    NOT_PREDICTED: "not the model's own prediction",
    NOT_CONVERGED: "rationale did not converge",
}


def outcome_line(outcome: SnippetOutcome, wanted: int) -> str:
    """One line: the snippet's targets and its candidates left out, by reason."""
    left = ", ".join(f"{n} {LABELS[r]}" for r, n in outcome.left_out.items())
    found = f"snippet {outcome.snippet_id} has {outcome.targets} of {wanted} targets"
    if left:
        return f"{found} (candidates left out: {left})"
    if outcome.targets:
        return f"{found} (every candidate became a target: the completion holds no more)"
    return f"{found} (the model's completion holds no candidate: it stops at once)"


def advice(outcomes: list[SnippetOutcome], rules: TargetRules) -> list[str]:
    """The settings (or the model) that would admit more targets, most candidates first."""
    totals = {r: sum(o.left_out.get(r, 0) for o in outcomes) for r in REASONS}
    excluded: dict[str, int] = {}
    for o in outcomes:
        for category, n in o.excluded_categories.items():
            excluded[category] = excluded.get(category, 0) + n
    lines = {
        CONTEXT_SIZE: f"lower [prepare] min_context_units (now {rules.min_context_units})",
        CATEGORY: "add to [prepare] categories: "
        + ", ".join(f"{c} ({n})" for c, n in sorted(excluded.items(), key=lambda kv: (-kv[1], kv[0]))),
        PARSE_ERROR: f"use a model that writes {rules.language} (codeq compat-finetune --suffix "
        f"{SUFFIXES[rules.language]} on {rules.language} sources; docs/instruments.md)",
        REPEATED_LINE: f"use a model that writes {rules.language}, or a lower [prepare] max_new_tokens "
        f"(now {rules.max_new_tokens}) so fewer lines are written",
        NOT_CONVERGED: f'set [prepare] selection = "all" or raise max_steps (now {rules.max_steps})',
    }
    ranked = sorted((r for r in lines if totals[r]), key=lambda r: -totals[r])
    out = [f"to admit more: {lines[r]}" for r in ranked]
    if totals[LINE_END] and CATEGORY not in ranked:
        out.append(f"to admit more: {lines[CATEGORY]}")
    if any(not o.left_out for o in outcomes):
        out.append(f"to admit more: raise [prepare] max_new_tokens (now {rules.max_new_tokens}) or use another model")
    return out
