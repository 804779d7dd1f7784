"""Greedy code completion with stop rules (EOS, blank line, end of function) and token offsets.

The end of the function the prompt ends in is a dedent for Python (a line at or left of the
``def``) and, for Java and JavaScript, the ``}`` that closes the body of the innermost method,
constructor or function open at the prompt's end: the bracket depth is back to what it was
outside that body. The ``}`` is kept, the next method is not written.

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

from codeq.model.loading import LoadedModel, check_length
from codeq.source.screen import CLOSER, bracket_walk, closing, open_brackets
from codeq.source.units import byte_to_char, parser_for
from contract.errors import UserError

STOP_RULES = ("eos", "blank_line", "end_of_function")
_DEF = re.compile(r"^([ \t]*)(?:async[ \t]+)?def[ \t]")
# Node types whose ``{ ... }`` body is a function's, per brace language.
FUNCTIONS = {
    "java": frozenset({"method_declaration", "constructor_declaration", "compact_constructor_declaration"}),
    "javascript": frozenset(
        {
            "function_declaration",
            "function_expression",
            "generator_function_declaration",
            "generator_function",
            "arrow_function",
            "method_definition",
        }
    ),
}


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


def enclosing_function_depth(prompt: str, language: str) -> int | None:
    """Brackets open outside the body of the innermost Java/JavaScript function the prompt ends in,
    or None outside any function."""
    data = prompt.encode("utf-8", "surrogatepass")
    parser = parser_for(language)
    opened = open_brackets(parser.parse(data))
    # the prompt alone ends in error recovery; closed, its tree says which brace opens a function body
    closed = parser.parse(data + closing(prompt, language).encode()).root_node
    for depth in range(len(opened) - 1, -1, -1):
        brace = closed.descendant_for_byte_range(opened[depth].start_byte, opened[depth].end_byte)
        body = brace.parent if brace is not None and brace.type == "{" else None
        if body is not None and body.parent is not None and body.parent.type in FUNCTIONS[language]:
            return depth
    return None


def enclosing_scope(prompt: str, language: str) -> int | None:
    """What ``find_stop`` needs to see the end of the prompt's function: the ``def``'s indentation
    (Python) or the bracket depth outside the function body (Java, JavaScript); None outside any."""
    if language == "python":
        return enclosing_def_indent(prompt)
    return enclosing_function_depth(prompt, language)


def function_close(text: str, start: int, depth: int, language: str) -> int | None:
    """Character index just after the bracket, at or after ``start``, that brings the open brackets
    of ``text`` down to ``depth``; None while the function is still open."""
    data = text.encode("utf-8", "surrogatepass")
    table = byte_to_char(text)
    begin = len(text[:start].encode("utf-8", "surrogatepass"))
    for leaf, still_open in bracket_walk(parser_for(language).parse(data)):
        if leaf.start_byte >= begin and leaf.type not in CLOSER and len(still_open) == depth:
            return leaf.end_byte if table is None else table[leaf.end_byte]
    return None


def find_stop(text: str, start: int, scope: int | None, rules, language: str = "python") -> tuple[str, int] | None:
    """Return (rule, character index to cut at) for the first stop in the generated part of ``text``.

    ``start`` is where the completion begins; ``scope`` is :func:`enclosing_scope` of the prompt. A
    blank line stops at its own start; in Python a line whose first visible character sits at or
    left of the enclosing ``def`` stops at the line start; in Java and JavaScript the ``}`` closing
    the function body stops just after itself.
    """
    line_start = text.rfind("\n", 0, start) + 1  # the line the prompt ends in may be completed
    stops = []
    if "blank_line" in rules:
        for m in re.finditer(r"\n[ \t\r\f\v]*\n", text[max(0, line_start - 1) :]):
            if max(0, line_start - 1) + m.end() - 1 >= start:
                stops.append((max(start, max(0, line_start - 1) + m.start() + 1), "blank_line"))
                break
    if "end_of_function" in rules and scope is not None and language != "python":
        cut = function_close(text, start, scope, language)
        if cut is not None:
            stops.append((cut, "end_of_function"))
    elif "end_of_function" in rules and scope is not None:
        for m in re.finditer(r"(?:^|\n)([ \t]*)(\S)", text[line_start:]):
            visible = line_start + m.start(2)
            if visible >= start and len(m.group(1)) <= scope:
                stops.append((max(start, visible - len(m.group(1))), "end_of_function"))
                break
    if not stops:
        return None
    cut, rule = min(stops)
    return rule, cut


@torch.inference_mode()
def complete(
    lm: LoadedModel, prompt: str, max_new_tokens: int = 64, stop=STOP_RULES, language: str = "python"
) -> Completion:
    """Complete ``prompt`` (code in ``language``) greedily until a stop rule fires or
    ``max_new_tokens`` are generated.

    The completion is cut at a token boundary: tokens that reach past the stop point are dropped.
    Raises :class:`codeq.model.loading.SequenceTooLongError` when the prompt plus ``max_new_tokens`` exceed the
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
    scope = enclosing_scope(prompt, language)
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
        found = find_stop(decode(tokenizer, prompt_ids + generated), len(prompt), scope, stop, language)
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
