"""The degenerate-completion screen, on hand-built completions whose verdicts are worked out by hand."""

import pytest

from codeq.source.screen import (
    PARSE_ERROR,
    REPEATED_LINE,
    SyntaxProblem,
    completion_lines,
    first_repeated_line,
    parses,
    screen_reason,
    syntax_problem,
)
from codeq.source.units import code_units
from codeq.study.tasks import screen_targets
from contract.prepared_tasks import Token

PROMPT = "def move(block, pos):\n    newpos = pos + 1"


@pytest.mark.parametrize(
    "code, ok",
    [
        ("def f(a):\n    return a", True),
        ("def f(a):\n    if a:", True),  # an empty block at the end of the text is not an error
        ("def f(a):\n    x = (1,", True),  # a bracket open at the end: "(1,)" is a tuple
        ("def f(a):\n    x = (1 +", False),  # "(1 +)" is not
        ("def f(a):\n    return a +", False),
        ("x = 'abc", False),  # unterminated string
        ("x = ')'  # (", True),  # brackets in strings and comments are text
    ],
)
def test_parses(code, ok):
    assert parses(code, "python") is ok


SEARCH = """public int search(int[] a, int key) {
    int low = 0;
    int high = a.length - 1;
    while (low <= high) {
        int mid = (low + high) >>> 1;
        if (a[mid] < key) {
            low = mid + 1;
        } else if (a[mid] > key) {
            high = mid - 1;"""


@pytest.mark.parametrize(
    "code, language, problem",
    [
        (SEARCH, "java", None),  # three braces open at the end
        ("class A {\n    void f() {\n        for (int i = 0; i < 3; i++)", "java", None),  # the body is to come
        ("class A {\n    void f() {\n        g(\"}\", '{');", "java", None),
        (SEARCH.replace("int low = 0;", "int low = 0"), "java", SyntaxProblem(2, "int low = 0")),
        ("function f(a) {\n  const s = `${a}`;\n  return a.map((v) => {", "javascript", None),
        ("function f(a) {\n  let x = a\n  return x", "javascript", None),  # no semicolons needed
        ("function f(a) {\n  let x = a +* 1;\n  return x", "javascript", SyntaxProblem(2, "let x = a +* 1;")),
        ("def f(a):\n    return a +\n", "python", SyntaxProblem(2, "return a +")),
    ],
)
def test_syntax_problem_closes_the_open_end_and_names_the_first_wrong_line(code, language, problem):
    assert syntax_problem(code, language) == problem
    assert parses(code, language) is (problem is None)


def test_completion_lines_start_with_the_prompt_line_only_when_the_completion_writes_on_it():
    assert completion_lines(PROMPT + "\n    return newpos", len(PROMPT)) == ["    return newpos"]
    text = "def f(a):\n    x = a"
    assert completion_lines(text, len("def f(a):\n    x =")) == ["    x = a"]
    assert completion_lines(PROMPT, len(PROMPT)) == []


def test_first_repeated_line_compares_whole_lines_with_their_indentation():
    twice = PROMPT + "\n    newpos = newpos\n    newpos = newpos\n"
    assert first_repeated_line(twice, len(PROMPT)) == "    newpos = newpos"
    # the prompt's own line is not a completion line, so writing it once more is not a repeat
    assert first_repeated_line(PROMPT + "\n    newpos = pos + 1", len(PROMPT)) is None
    # the same statement at another indentation, and repeated blank lines, are no repeats
    other = PROMPT + "\n    if newpos:\n        return newpos\n\n\n    return newpos"
    assert first_repeated_line(other, len(PROMPT)) is None
    assert first_repeated_line(PROMPT + "\n    x = 1   \n    x = 1", len(PROMPT)) == "    x = 1"


def test_screen_reason_looks_up_to_the_end_of_the_target_line():
    text = PROMPT + "\n    block = block.get_size()\n    block = block.get_size()\n    return newpos +"
    start = len(PROMPT)
    first = text.index("block", start)
    second = text.index("block", text.index("\n", first))
    last = text.index("return")
    assert screen_reason(text, start, first, "python") is None
    assert screen_reason(text, start, second, "python") == REPEATED_LINE
    assert screen_reason(text, start, last, "python") == PARSE_ERROR  # parse errors are checked first
    assert screen_reason(PROMPT + "\n    return (newpos", start, len(PROMPT) + 5, "python") is None


def test_screen_targets_counts_what_it_leaves_out_per_line_and_reason():
    text = PROMPT + "\n    block = block.get_size()\n    block = block.get_size()\n    return newpos +"
    units = code_units(text, "python")
    tokens = [Token(index=u.index, start=u.start, end=u.end, id=0, units=[u.index]) for u in units]
    start = len(PROMPT)
    candidates = [u.index for u in units if u.start >= start and u.text.strip()]
    kept, screened = screen_targets(text, start, units, tokens, candidates, "python")
    # lines are 0-based here: line 2 is the first block line, and its 7 units are all eligible
    assert [units[i].text for i in kept] == ["block", "=", "block", ".", "get_size", "(", ")"]
    assert screened == {(3, REPEATED_LINE): 7, (4, PARSE_ERROR): 3}
