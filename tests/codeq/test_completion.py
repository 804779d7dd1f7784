"""Greedy completion: stop rules on scripted outputs, offsets against the tokenizer, greedy = argmax."""

from types import SimpleNamespace

import pytest
import torch

from codeq.model.completion import complete, enclosing_def_indent, enclosing_scope, find_stop, token_offsets
from codeq.model.loading import LoadedModel
from codeq.model.random_models import build

PROMPT = "def f(x):\n    y = x + 1\n"


class ScriptedModel(torch.nn.Module):
    """Emit a fixed list of token ids one after the other, whatever the input."""

    def __init__(self, script, vocab_size):
        super().__init__()
        self.script, self.vocab_size = script, vocab_size

    def forward(self, input_ids, cache=None, use_cache=True):
        step = 0 if cache is None else cache
        logits = torch.zeros(1, input_ids.shape[1], self.vocab_size)
        logits[0, -1, self.script[min(step, len(self.script) - 1)]] = 1.0
        return SimpleNamespace(logits=logits, cache=step + 1)


def scripted(tokenizer, pieces):
    """A LoadedModel that writes ``pieces`` (each tokenized on its own, so the split is known)."""
    script = [i for piece in pieces for i in (tokenizer(piece)["input_ids"] if isinstance(piece, str) else [piece])]
    return LoadedModel(
        model=ScriptedModel(script, len(tokenizer)),
        tokenizer=tokenizer,
        name="scripted",
        device=torch.device("cpu"),
        dtype=torch.float32,
    )


def _check_spans(c):
    full = c.prompt + c.text
    assert len(c.offsets) == len(c.ids)
    assert c.offsets[0][0] == 0 and c.offsets[-1][1] == len(full)
    assert all(a[1] == b[0] for a, b in zip(c.offsets, c.offsets[1:]))  # contiguous, no overlap


@pytest.mark.parametrize(
    "pieces, stop, text, reason",
    [
        (["    return y", "\n", "def g():\n", "    pass\n"], None, "    return y\n", "end_of_function"),
        (["    return y", "\n", "\n", "    z = 2\n"], None, "    return y\n", "blank_line"),
        # "\n  " is one token that reaches past the cut: dropped whole
        (["    return y", "\n    \n", "    z = 2\n"], None, "    return y", "blank_line"),
        (["    return y", "\n", 0, "never"], None, "    return y\n", "eos"),
        (["    return y", "\n", "\n", "def g", "():\n", 0], ("eos",), "    return y\n\ndef g():\n", "eos"),
        (["    return y", "\n", "def g", "():\n", 0], ("eos", "blank_line"), "    return y\ndef g():\n", "eos"),
    ],
)
def test_stop_rules(byte_tokenizer, pieces, stop, text, reason):
    lm = scripted(byte_tokenizer, pieces)
    c = complete(lm, PROMPT, max_new_tokens=40, **({} if stop is None else {"stop": stop}))
    assert (c.text, c.stop_reason) == (text, reason)
    assert byte_tokenizer.decode(c.completion_ids) == text
    assert byte_tokenizer.eos_token_id not in c.completion_ids
    _check_spans(c)


def test_token_budget(byte_tokenizer):
    c = complete(scripted(byte_tokenizer, ["    return y + y + y + y"]), PROMPT, max_new_tokens=5)
    assert c.stop_reason == "max_new_tokens" and len(c.completion_ids) == 5
    assert c.text == byte_tokenizer.decode(c.completion_ids)


def test_dedent_inside_a_class_ends_the_method(byte_tokenizer):
    prompt = "class A:\n    def f(self):\n        x = 1\n"
    lm = scripted(byte_tokenizer, ["        return x", "\n", "    def g(self):\n"])
    c = complete(lm, prompt, max_new_tokens=40)
    assert (c.text, c.stop_reason) == ("        return x\n", "end_of_function")


JAVA = "class Point {\n    private int x;\n    public int getY() {\n        int y = x + 1;"


def test_a_java_completion_stops_where_its_method_closes(byte_tokenizer):
    pieces = [
        "\n        if (y > 0) {",
        "\n            y--;",
        "\n        }",
        "\n        return y;",
        "\n    }",
        "\n    public",
    ]
    c = complete(scripted(byte_tokenizer, pieces + [" int getX() {}\n}"]), JAVA, max_new_tokens=60, language="java")
    assert (c.text, c.stop_reason) == ("".join(pieces[:-1]), "end_of_function")


@pytest.mark.parametrize(
    "prompt, language, scope",
    [
        (JAVA, "java", 1),  # the class's brace is open outside getY's body
        ("public int f() {\n    return g(new int[] {1,", "java", 0),  # f's brace is outermost
        ("class A {\n    int x;", "java", None),  # in a class body, outside any method
        ("function f(a) {\n  return a.map((v) => {", "javascript", 2),  # the arrow function's body
        ("const o = {\n  area() {\n    const s = `${this.w}`;", "javascript", 1),  # a method of an object
        ("def f():\n    x = 1\n", "python", 0),
    ],
)
def test_enclosing_scope(prompt, language, scope):
    assert enclosing_scope(prompt, language) == scope


def test_find_stop_on_brace_languages_ignores_braces_in_strings_and_comments():
    prompt = "function f(a) {\n  if (a) {"
    text = prompt + "\n    g('}'); // }\n  }\n  return `}${a}`;\n}\nfunction h() {}"
    cut = text.index("\nfunction h")
    assert find_stop(text, len(prompt), 0, ("end_of_function",), "javascript") == ("end_of_function", cut)
    assert find_stop(text[:cut], len(prompt), 0, ("blank_line",), "javascript") is None


def test_offsets_equal_the_tokenizer_offset_mapping(byte_tokenizer):
    """Where re-encoding gives the same ids, spans equal the tokenizer's own offset mapping."""
    text = "def push(self, item):\n    self.items.append(item)  # é日本\n    return item\n"
    enc = byte_tokenizer(text, return_offsets_mapping=True)
    spans = token_offsets(byte_tokenizer, enc["input_ids"], text)
    mapping = [tuple(span) for span in enc["offset_mapping"]]
    for i, (ours, theirs) in enumerate(zip(spans, mapping)):
        shared_with_next = i + 1 < len(mapping) and mapping[i + 1] == theirs
        # byte pieces of one character all carry its span there; here the last piece owns it
        assert ours == ((theirs[0], theirs[0]) if shared_with_next else theirs)
    assert "".join(text[a:b] for a, b in spans) == text
    assert text[spans[-2][0] : spans[-2][1]] in {" item", "item"}


def test_multibyte_characters_split_across_tokens(byte_tokenizer):
    lm = scripted(byte_tokenizer, ["    return 'é日本'", "\n", "\n"])
    c = complete(lm, PROMPT, max_new_tokens=40)
    assert c.text == "    return 'é日本'\n"
    _check_spans(c)
    full = c.prompt + c.text
    pieces = [full[a:b] for a, b in c.offsets]
    assert "日" in pieces and "本" in pieces and "é" in pieces
    assert pieces.count("") == 5  # 2 + 3 + 3 bytes: the first pieces of each character are empty


def test_greedy_with_cache_equals_full_context_argmax(byte_tokenizer):
    model = build("gpt2", layers=2, width=32, heads=2, vocab=len(byte_tokenizer), context=128, bos_eos_zero=True)
    lm = LoadedModel(
        model=model, tokenizer=byte_tokenizer, name="random", device=torch.device("cpu"), dtype=torch.float32
    )
    c = complete(lm, PROMPT, max_new_tokens=12, stop=())
    assert len(c.completion_ids) == 12
    ids = c.prompt_ids
    for token in c.completion_ids:
        with torch.inference_mode():
            assert model(input_ids=torch.tensor([ids])).logits[0, -1].argmax().item() == token
        ids = ids + [token]


@pytest.mark.parametrize(
    "prompt, indent",
    [
        ("def f():\n    x = 1\n", 0),
        ("class A:\n    def f(self):\n        x = 1\n", 4),
        ("def f():\n    def g():\n        pass\n    y = 2\n", 0),
        ("def f():\n    pass\nx = 1\n", None),
        ("import os\n", None),
        ("async def f():\n    await g()\n", 0),
    ],
)
def test_enclosing_def_indent(prompt, indent):
    assert enclosing_def_indent(prompt) == indent


def test_find_stop_on_text():
    prompt = "def f():\n    a = 1\n"
    assert find_stop(prompt + "    b = 2\n", len(prompt), 0, ("blank_line", "end_of_function")) is None
    text = prompt + "    b = 2\n\n"
    assert find_stop(text, len(prompt), 0, ("blank_line",)) == ("blank_line", len(prompt) + 10)
    text = prompt + "    b = 2\nprint(1)"
    assert find_stop(text, len(prompt), 0, ("end_of_function",)) == ("end_of_function", len(prompt) + 10)
    assert find_stop(prompt + "\n", len(prompt), 0, ("blank_line",)) == ("blank_line", len(prompt))


def test_unknown_stop_rule(byte_tokenizer):
    with pytest.raises(ValueError, match="unknown stop rule 'eof'"):
        complete(scripted(byte_tokenizer, ["x"]), PROMPT, stop=("eof",))


def test_cli_complete_json_equals_the_function(saved_model):
    import json

    from click.testing import CliRunner

    from codeq.cli import main
    from codeq.model.loading import load_model

    path, _ = saved_model
    result = CliRunner().invoke(
        main, ["complete", "-m", str(path), "--max-new-tokens", "6", "--format", "json", "-"], input=PROMPT
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # the CLI drops the file's final newline (PROMPT ends in one), as a prompt cut at a line end
    expected = complete(load_model(str(path), device="cpu"), PROMPT.rstrip("\n"), max_new_tokens=6)
    assert (
        data["prompt_ids"]
        == expected.prompt_ids
        != complete(load_model(str(path), device="cpu"), PROMPT, max_new_tokens=6).prompt_ids
    )
    assert (data["text"], data["completion_ids"], data["stop_reason"]) == (
        expected.text,
        expected.completion_ids,
        expected.stop_reason,
    )
    assert [tuple(span) for span in data["offsets"]] == expected.offsets


@pytest.mark.parametrize(
    "args, message",
    [
        (["-m", "/no/such/model"], "Error: model path /no/such/model does not exist"),
        (["--stop", "eof"], "Error: unknown stop rule 'eof'"),
        (["--max-new-tokens", "60"], "plus max_new_tokens (60) is"),
    ],
)
def test_cli_user_errors_are_one_line(saved_model, args, message):
    from click.testing import CliRunner

    from codeq.cli import main

    args = args if "-m" in args else ["-m", str(saved_model[0]), *args]
    result = CliRunner().invoke(main, ["complete", *args, "-"], input=PROMPT)
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output


def test_prompt_longer_than_context_is_one_line_error(saved_model):
    from codeq.model.loading import SequenceTooLongError, load_model

    path, _ = saved_model  # n_positions = 64
    lm = load_model(path, device="cpu", dtype="fp32")
    prompt = "x = 1\n" * 40
    n = len(lm.tokenizer(prompt)["input_ids"])
    assert n + 8 > 64
    with pytest.raises(SequenceTooLongError) as err:
        complete(lm, prompt, max_new_tokens=8)
    assert str(err.value) == (
        f"the prompt ({n} tokens) plus max_new_tokens (8) is {n + 8} tokens long "
        "but the model's context holds 64 tokens"
    )


def test_cli_lets_bugs_through_with_their_traceback(saved_model, monkeypatch):
    from click.testing import CliRunner

    import codeq.model.completion
    from codeq.cli import main

    def broken(*args, **kwargs):
        raise ValueError("an internal bug, not the user's mistake")

    monkeypatch.setattr(codeq.model.completion, "complete", broken)
    result = CliRunner().invoke(main, ["complete", "-m", str(saved_model[0]), "-"], input=PROMPT)
    assert result.exit_code == 1 and isinstance(result.exception, ValueError)
    assert "Error:" not in result.output
