"""Code units: hand-worked unit lists, non-ASCII text, invalid code, and the partition rule."""

import pytest

from codeq.source.units import byte_to_char, code_units
from codeq.training.tiny import stdlib_files


def spans(units):
    return [(u.start, u.end, u.text, u.category) for u in units]


def test_hand_worked_python_units():
    code = "def f(a):\n    return a + 1  # one\n"
    # worked by hand: offsets counted on the string above
    assert spans(code_units(code, "python")) == [
        (0, 3, "def", "functions"),
        (4, 5, "f", "identifiers"),
        (5, 6, "(", "punctuation"),
        (6, 7, "a", "identifiers"),
        (7, 8, ")", "punctuation"),
        (8, 9, ":", "punctuation"),
        (9, 10, "\n", "newline"),
        (10, 14, "    ", "indentation"),
        (14, 20, "return", "functions"),
        (21, 22, "a", "identifiers"),
        (23, 24, "+", "operators"),
        (25, 26, "1", "numbers"),
        (28, 29, "#", "comments"),
        (30, 33, "one", "comments"),
        (33, 34, "\n", "newline"),
    ]


def test_string_literals_and_fstrings_are_one_unit():
    code = 'x = f"{a!r} and {b}" "tail"\n'
    units = code_units(code, "python")
    assert [u.text for u in units] == ["x", "=", 'f"{a!r} and {b}"', '"tail"', "\n"]
    assert [u.category for u in units][2:4] == ["strings", "strings"]


def test_docstring_is_its_own_category():
    units = code_units('def f():\n    """Say hi."""\n', "python")
    assert [(u.text, u.group) for u in units if u.category == "docstrings"] == [
        ('"""Say', "natural language"),
        ('hi."""', "natural language"),
    ]


def test_non_ascii_offsets_are_characters():
    code = 'naïve = "héllo wörld"  # ça va? 😀\nπ = naïve\n'
    units = code_units(code, "python")
    assert all(code[u.start : u.end] == u.text for u in units)
    texts = ["naïve", "=", '"héllo wörld"', "#", "ça", "va?", "😀", "\n", "π", "=", "naïve", "\n"]
    assert [u.text for u in units] == texts
    assert units[8].start == code.index("π")


def test_byte_to_char_matches_encoding():
    code = "aé😀b"
    table = byte_to_char(code)
    for i in range(len(code) + 1):
        assert table[len(code[:i].encode())] == i
    assert byte_to_char("ascii only") is None


def test_whitespace_units_newlines_indents_but_not_inner_spaces():
    code = "if x:\r\n\tif y:\n\n   \n\t\tz  =  1\n"
    units = code_units(code, "python")
    kinds = [(u.text, u.category) for u in units if u.category in ("newline", "indentation")]
    # the blank line with three spaces gives no indentation unit; the spaces around '=' are no units
    assert kinds == [
        ("\r\n", "newline"),
        ("\t", "indentation"),
        ("\n", "newline"),
        ("\n", "newline"),
        ("\n", "newline"),
        ("\t\t", "indentation"),
        ("\n", "newline"),
    ]


def test_invalid_code_still_yields_units_with_errors():
    code = "def f(:\n    x = $ 1\n"
    units = code_units(code, "python")
    assert all(code[u.start : u.end] == u.text for u in units)
    assert "errors" in {u.category for u in units}
    assert {u.text for u in units} >= {"def", "f", "$", "1", "x"}


def _assert_partition(code, units):
    """Brute force: each non-space character is in exactly one unit; whitespace in at most one."""
    owner = [0] * len(code)
    for u in units:
        assert code[u.start : u.end] == u.text
        for k in range(u.start, u.end):
            owner[k] += 1
    for k, ch in enumerate(code):
        assert owner[k] == (owner[k] if ch.isspace() else 1) and owner[k] <= 1, (k, ch)
    assert [u.start for u in units] == sorted(u.start for u in units)
    assert [u.index for u in units] == list(range(len(units)))


@pytest.mark.parametrize(
    "language, code",
    [
        ("python", "class A(B):\n    def m(self, *a, **k) -> 'A':\n        return [i for i in a if i]\n"),
        ("python", "x = (1 +\n     2) ; y = b'\\xff' ; z = r'''multi\nline'''\n"),
        ("python", "def broken(:\n  return )\n"),
        ("java", 'class A { /* c */ String s = "é"; int[] a = {1, 2}; }\n'),
        ("javascript", "const f = (x) => `v=${x}`; // ü\nlet r = /a+/g;\n"),
        ("javascript", "function ( { ;\n"),
    ],
)
def test_units_partition_non_space_characters(language, code):
    _assert_partition(code, code_units(code, language))


def test_partition_on_heldout_stdlib_files():
    _, heldout = stdlib_files()
    for path in heldout[:4]:
        code = path.read_text(encoding="utf-8")
        _assert_partition(code, code_units(code, "python"))


def test_node_path_ends_with_own_type():
    units = code_units("x.y\n", "python")
    assert units[0].node_path == ["module", "expression_statement", "attribute", "identifier"]
    assert units[-1].node_path == ["newline"]


def test_unsupported_language():
    with pytest.raises(ValueError, match="unsupported language 'go'"):
        code_units("x", "go")
