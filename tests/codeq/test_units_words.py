"""Comments and docstrings split into word units: hand-worked Python, Java and JavaScript examples."""

from codeq.source.units import code_units
from contract.token_alignment import align_tokens, starts_unit


def spans(units, categories=None):
    return [(u.text, u.start, u.end, u.category) for u in units if categories is None or u.category in categories]


NATURAL = ("comments", "docstrings", "newline", "indentation")


def test_module_docstring_is_split_into_words():
    # worked by hand: offsets counted on the string below
    assert spans(code_units('"""Module doc."""\nx = 1\n', "python")) == [
        ('"""Module', 0, 9, "docstrings"),
        ('doc."""', 10, 17, "docstrings"),
        ("\n", 17, 18, "newline"),
        ("x", 18, 19, "identifiers"),
        ("=", 20, 21, "operators"),
        ("1", 22, 23, "numbers"),
        ("\n", 23, 24, "newline"),
    ]


def test_class_docstring_lines_get_newline_and_indentation_units():
    code = 'class C:\n    """Two  words.\n\n      Indented.\n    """\n'
    # the blank line inside the docstring is a newline unit; the two spaces between words are no unit
    assert spans(code_units(code, "python")) == [
        ("class", 0, 5, "oop"),
        ("C", 6, 7, "identifiers"),
        (":", 7, 8, "punctuation"),
        ("\n", 8, 9, "newline"),
        ("    ", 9, 13, "indentation"),
        ('"""Two', 13, 19, "docstrings"),
        ("words.", 21, 27, "docstrings"),
        ("\n", 27, 28, "newline"),
        ("\n", 28, 29, "newline"),
        ("      ", 29, 35, "indentation"),
        ("Indented.", 35, 44, "docstrings"),
        ("\n", 44, 45, "newline"),
        ("    ", 45, 49, "indentation"),
        ('"""', 49, 52, "docstrings"),
        ("\n", 52, 53, "newline"),
    ]


def test_function_docstring_is_split_but_an_ordinary_string_stays_one_unit():
    code = "def f():\n    'Return it.'\n    s = 'not a doc'\n    return s\n"
    assert spans(code_units(code, "python")) == [
        ("def", 0, 3, "functions"),
        ("f", 4, 5, "identifiers"),
        ("(", 5, 6, "punctuation"),
        (")", 6, 7, "punctuation"),
        (":", 7, 8, "punctuation"),
        ("\n", 8, 9, "newline"),
        ("    ", 9, 13, "indentation"),
        ("'Return", 13, 20, "docstrings"),
        ("it.'", 21, 25, "docstrings"),
        ("\n", 25, 26, "newline"),
        ("    ", 26, 30, "indentation"),
        ("s", 30, 31, "identifiers"),
        ("=", 32, 33, "operators"),
        ("'not a doc'", 34, 45, "strings"),
        ("\n", 45, 46, "newline"),
        ("    ", 46, 50, "indentation"),
        ("return", 50, 56, "functions"),
        ("s", 57, 58, "identifiers"),
        ("\n", 58, 59, "newline"),
    ]


def test_comment_words_have_character_not_byte_offsets():
    code = "# héllo wörld 😀\nπ = 1  # ça\n"
    units = code_units(code, "python")
    assert spans(units) == [
        ("#", 0, 1, "comments"),
        ("héllo", 2, 7, "comments"),
        ("wörld", 8, 13, "comments"),
        ("😀", 14, 15, "comments"),
        ("\n", 15, 16, "newline"),
        ("π", 16, 17, "identifiers"),
        ("=", 18, 19, "operators"),
        ("1", 20, 21, "numbers"),
        ("#", 23, 24, "comments"),
        ("ça", 25, 27, "comments"),
        ("\n", 27, 28, "newline"),
    ]
    # in UTF-8 "wörld" starts at byte 9 ("héllo" is 6 bytes), so the offsets above are not bytes
    assert code.encode().index("wörld".encode()) == 9
    assert {u.node_path[-1] for u in units if u.category == "comments"} == {"comment"}


def test_java_line_block_and_javadoc_comments_are_split_into_words():
    code = "class A {\n  // line one\n  int x; /* block\n     two */\n  /** Doc {@code x}. */\n  int y;\n}\n"
    assert spans(code_units(code, "java"), NATURAL) == [
        ("\n", 9, 10, "newline"),
        ("  ", 10, 12, "indentation"),
        ("//", 12, 14, "comments"),
        ("line", 15, 19, "comments"),
        ("one", 20, 23, "comments"),
        ("\n", 23, 24, "newline"),
        ("  ", 24, 26, "indentation"),
        ("/*", 33, 35, "comments"),
        ("block", 36, 41, "comments"),
        ("\n", 41, 42, "newline"),
        ("     ", 42, 47, "indentation"),
        ("two", 47, 50, "comments"),
        ("*/", 51, 53, "comments"),
        ("\n", 53, 54, "newline"),
        ("  ", 54, 56, "indentation"),
        ("/**", 56, 59, "comments"),
        ("Doc", 60, 63, "comments"),
        ("{@code", 64, 70, "comments"),
        ("x}.", 71, 74, "comments"),
        ("*/", 75, 77, "comments"),
        ("\n", 77, 78, "newline"),
        ("  ", 78, 80, "indentation"),
        ("\n", 86, 87, "newline"),
        ("\n", 88, 89, "newline"),
    ]


def test_javascript_comments_are_split_and_strings_stay_whole():
    code = "// a b\nlet s = 'x y'; /* c\n d */\n/** @param {number} n */\n"
    units = code_units(code, "javascript")
    assert spans(units, NATURAL + ("strings",)) == [
        ("//", 0, 2, "comments"),
        ("a", 3, 4, "comments"),
        ("b", 5, 6, "comments"),
        ("\n", 6, 7, "newline"),
        ("'x y'", 15, 20, "strings"),
        ("/*", 22, 24, "comments"),
        ("c", 25, 26, "comments"),
        ("\n", 26, 27, "newline"),
        (" ", 27, 28, "indentation"),
        ("d", 28, 29, "comments"),
        ("*/", 30, 32, "comments"),
        ("\n", 32, 33, "newline"),
        ("/**", 33, 36, "comments"),
        ("@param", 37, 43, "comments"),
        ("{number}", 44, 52, "comments"),
        ("n", 53, 54, "comments"),
        ("*/", 55, 57, "comments"),
        ("\n", 57, 58, "newline"),
    ]


def test_tokens_in_a_docstring_map_to_its_words():
    code = 'def f():\n    """Add one."""\n'
    units = code_units(code, "python")
    texts = [u.text for u in units]
    # hand-made tokens over '"""Add one."""' (13..27): the quotes, "Add", a token straddling the space
    # ("d o" would be one BPE token in some vocabularies), and the rest
    offsets = [(13, 16), (16, 18), (18, 21), (21, 27)]
    tokens = align_tokens(offsets, [1, 2, 3, 4], units)
    assert [[texts[k] for k in t.units] for t in tokens] == [['"""Add'], ['"""Add'], ['"""Add', 'one."""'], ['one."""']]
    # only the first token starts '"""Add'; the straddling token is inside it, not the start of 'one."""'
    assert [starts_unit(t, units) for t in tokens] == [True, False, False, False]
