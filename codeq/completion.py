"""Greedy code completion with stop rules (EOS, blank line, end of function) and token offsets.

Offsets come from the tokenizer's own decoder, not from re-encoding the text: the completion's
token ids are what the model generated, and a greedy model may produce a split that re-encoding
would not (e.g. ``"    "`` + ``"return"`` where the tokenizer alone writes ``"   "`` + ``" return"``).
Token i spans from the end of token i-1 to the length of the decoded prefix ``ids[:i+1]``. A token
that ends inside a multi-byte character (byte-level BPE) gets an empty span; the token that
completes the character owns it. So spans are end-exclusive, contiguous, never overlap, and
``text[start:end]`` is exactly what the tokens add.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from codeq.errors import UserError
from codeq.loading import LoadedModel, check_length

STOP_RULES = ("eos", "blank_line", "end_of_function")
_DEF = re.compile(r"^([ \t]*)(?:async[ \t]+)?def[ \t]")


@dataclass
class Completion:
    """A prompt, the model's greedy completion, and the tokens of both with character spans."""

    prompt: str
    text: str  # the completion only
    prompt_ids: list[int]
    completion_ids: list[int]
    offsets: list[tuple[int, int]]  # end-exclusive spans into prompt + text, one per id
    stop_reason: str  # eos, blank_line, end_of_function or max_new_tokens

    @property
    def ids(self) -> list[int]:
        return self.prompt_ids + self.completion_ids


def decode(tokenizer, ids) -> str:
    return tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)


def token_offsets(tokenizer, ids: list[int], text: str) -> list[tuple[int, int]]:
    """Return the character span of each token in ``text`` (the decoding of ``ids``)."""
    spans, end = [], 0
    for i in range(1, len(ids) + 1):
        prefix = decode(tokenizer, ids[:i])
        # an unfinished multi-byte character decodes to U+FFFD: count only the part that matches
        while prefix and not text.startswith(prefix):
            prefix = prefix[:-1]
        start, end = end, max(end, len(prefix))
        spans.append((start, end))
    return spans


def enclosing_def_indent(prompt: str) -> int | None:
    """Indentation of the ``def`` whose body the prompt ends in, or None outside any function."""
    lowest = None  # smallest indentation of the non-blank lines after the line looked at
    for line in reversed(prompt.split("\n")):
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" \t"))
        match = _DEF.match(line)
        if match and (lowest is None or indent < lowest):
            return indent
        lowest = indent if lowest is None else min(lowest, indent)
    return None


def find_stop(text: str, start: int, def_indent: int | None, rules) -> tuple[str, int] | None:
    """Return (rule, character index to cut at) for the first stop in the generated part of ``text``.

    ``start`` is where the completion begins. A blank line stops at its own start; a line whose
    first visible character sits at or left of the enclosing ``def`` stops at the line start.
    """
    line_start = text.rfind("\n", 0, start) + 1  # the line the prompt ends in may be completed
    stops = []
    if "blank_line" in rules:
        for m in re.finditer(r"\n[ \t\r\f\v]*\n", text[max(0, line_start - 1) :]):
            if max(0, line_start - 1) + m.end() - 1 >= start:
                stops.append((max(start, max(0, line_start - 1) + m.start() + 1), "blank_line"))
                break
    if "end_of_function" in rules and def_indent is not None:
        for m in re.finditer(r"(?:^|\n)([ \t]*)(\S)", text[line_start:]):
            visible = line_start + m.start(2)
            if visible >= start and len(m.group(1)) <= def_indent:
                stops.append((max(start, visible - len(m.group(1))), "end_of_function"))
                break
    if not stops:
        return None
    cut, rule = min(stops)
    return rule, cut


@torch.inference_mode()
def complete(lm: LoadedModel, prompt: str, max_new_tokens: int = 64, stop=STOP_RULES) -> Completion:
    """Complete ``prompt`` greedily until a stop rule fires or ``max_new_tokens`` are generated.

    The completion is cut at a token boundary: tokens that reach past the stop point are dropped.
    Raises :class:`codeq.loading.SequenceTooLong` when the prompt plus ``max_new_tokens`` exceed the
    model's context.
    """
    unknown = set(stop) - set(STOP_RULES)
    if unknown:
        raise UserError(f"unknown stop rule {sorted(unknown)[0]!r}: use {', '.join(STOP_RULES)}")
    tokenizer, model = lm.tokenizer, lm.model
    prompt_ids = tokenizer(prompt)["input_ids"]
    if not prompt_ids:
        raise UserError("the prompt is empty")
    check_length(
        lm,
        len(prompt_ids) + max_new_tokens,
        f"the prompt ({len(prompt_ids)} tokens) plus max_new_tokens ({max_new_tokens})",
    )
    if decode(tokenizer, prompt_ids) != prompt:
        raise UserError("the tokenizer does not reproduce this prompt when decoding it; offsets would be wrong")
    def_indent = enclosing_def_indent(prompt)
    eos = tokenizer.eos_token_id
    generated, reason, cut, cache = [], "max_new_tokens", None, None
    step_ids = torch.tensor([prompt_ids], device=lm.device)
    for _ in range(max_new_tokens):
        out = model(input_ids=step_ids, cache=cache, use_cache=True)
        cache = out.cache
        token = int(out.logits[0, -1].float().argmax())
        if token == eos and "eos" in stop:
            reason = "eos"
            break
        generated.append(token)
        found = find_stop(decode(tokenizer, prompt_ids + generated), len(prompt), def_indent, stop)
        if found:
            reason, cut = found
            break
        step_ids = torch.tensor([[token]], device=lm.device)
    full = decode(tokenizer, prompt_ids + generated)
    offsets = token_offsets(tokenizer, prompt_ids + generated, full)
    keep = len(generated)
    if cut is not None:
        keep = sum(1 for _, end in offsets[len(prompt_ids) :] if end <= cut)
    while keep and offsets[len(prompt_ids) + keep - 1][0] == offsets[len(prompt_ids) + keep - 1][1]:
        keep -= 1  # a trailing token that only starts a character carries no text yet
    offsets = offsets[: len(prompt_ids) + keep]
    text = full[len(prompt) : offsets[-1][1]] if keep else ""
    return Completion(
        prompt=prompt,
        text=text,
        prompt_ids=prompt_ids,
        completion_ids=generated[:keep],
        offsets=offsets,
        stop_reason=reason,
    )
