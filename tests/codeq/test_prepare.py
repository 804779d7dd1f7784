"""codeq prepare: study.toml checks, target rules, determinism, on a tiny hand-wired bigram model."""

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from transformers import GPT2TokenizerFast

import codeq.study.prepare
import codeq.study.tasks
from codeq.cli import main
from codeq.model.loading import LoadedModel
from codeq.model.random_models import build
from codeq.rationales.search import Rationale
from codeq.source.snippets import function_snippets
from codeq.study.instrument import StudyError, read_snippets, read_study
from codeq.study.prepare import NoTargetsError, prepare, snippet_rule_warning, target_warnings
from contract.prepared_tasks import read_tasks
from contract.taxonomy import load_taxonomy
from contract.token_alignment import starts_unit

TOKENIZER_DIR = Path(__file__).parents[2] / "codeq" / "models" / "codeq-tiny"

STUDY_TOML = """\
[study]
id = "s"
title = "Test"
researcher = "Test Lab"
contact = "lab@example.org"
estimated_minutes = 5
description = "A study for the engine's tests."
tasks_per_participant = 2
seed = 1

[model]
name = "codeq-tiny"
dtype = "fp32"

[prepare]
language = "python"
targets_per_snippet = 2
selection = "converged"
min_context_units = 5
max_new_tokens = 12
seed = 3

[annotation]
second_phase = true
"""


@pytest.fixture(scope="module")
def bigram_lm():
    """A GPT-2 whose blocks are switched off, so it predicts from the last token alone:
    after ' +' it writes ' x', after anything else ' +'. Greedy completions read ' + x + x ...'."""
    torch.set_num_threads(1)
    tokenizer = GPT2TokenizerFast.from_pretrained(TOKENIZER_DIR)
    plus, x = tokenizer.encode(" +"), tokenizer.encode(" x")
    assert len(plus) == 1 and len(x) == 1
    model = build(
        "gpt2", layers=1, width=8, heads=1, vocab=len(tokenizer), context=256, bos_eos_zero=True, tie_embeddings=False
    )
    u = torch.tensor([1.0, -1, 0, 0, 0, 0, 0, 0])
    v = torch.tensor([0.0, 0, 1, -1, 0, 0, 0, 0])
    with torch.no_grad():
        for p in model.transformer.h.parameters():
            p.zero_()
        model.transformer.wpe.weight.zero_()
        model.transformer.wte.weight[:] = u
        model.transformer.wte.weight[plus[0]] = v
        model.lm_head.weight.zero_()
        model.lm_head.weight[plus[0]] = 5 * u
        model.lm_head.weight[x[0]] = 5 * v
    return LoadedModel(model=model, tokenizer=tokenizer, name="bigram", device=torch.device("cpu"), dtype=torch.float32)


def make_study(root: Path, toml: str = STUDY_TOML) -> Path:
    (root / "snippets").mkdir(parents=True)
    (root / "tutorial").mkdir()
    (root / "study.toml").write_text(toml)
    (root / "consent.md").write_text("You agree.\n")
    (root / "questionnaire.toml").write_text('[[questions]]\nid = "years"\ntext = "Years?"\ntype = "number"\n')
    (root / "snippets" / "alpha.py").write_text("# source: test module\ndef f(a, b):\n    return a")
    (root / "snippets" / "beta.py").write_text("def g(n):\n    total = n * 2\n    return total")
    (root / "tutorial" / "tut.py").write_text("def h(y):\n    return y")
    return root


def test_prepare_writes_valid_tasks_that_follow_the_target_rules(tmp_path, bigram_lm):
    folder = make_study(tmp_path / "s")
    card = prepare(folder, lm=bigram_lm)
    tasks = read_tasks(folder / "tasks.jsonl")  # validates the contract
    assert [t.task_id for t in tasks] == ["s-alpha-t1", "s-alpha-t2", "s-beta-t1", "s-beta-t2"]
    for task in tasks:
        assert task.completion.startswith(" + x + x")
        assert task.prompt in ("def f(a, b):\n    return a", "def g(n):\n    total = n * 2\n    return total")
        token = task.tokens[task.target.token_index]
        assert token.start >= len(task.prompt)  # the target is the model's own token
        assert starts_unit(token, task.units)
        assert task.target.unit_index >= 5
        assert task.rationale.converged and task.rationale.positions == [task.target.token_index - 1]
    assert [t.target.token_index for t in tasks[:2]] == sorted(t.target.token_index for t in tasks[:2])
    tutorial = read_tasks(folder / "tutorial.jsonl")
    assert [t.task_id for t in tutorial] == ["s-tutorial-tut-t1"]
    written = json.loads((folder / "model_card.json").read_text())
    assert written == card
    assert (card["model"], card["dtype"], card["seed"], card["tasks"], card["converged"]) == ("bigram", "fp32", 3, 4, 4)
    assert card["codeq_version"] and card["snippets_short_of_targets"] == []
    assert card["warnings"] == [] and len(card["prepared_from"]) == 64
    # 12 new tokens, each a candidate; 2 targets each, the other 10 left untried
    assert card["targets_by_snippet"] == [
        {"snippet_id": s, "targets": 2, "left_out": {}, "untried": 10, "excluded_categories": {}}
        for s in ("alpha", "beta")
    ]
    # [model] name is the bundled codeq-tiny: its weight, tokenizer and config files count
    assert sorted(card["prepared_from_parts"]) == [
        "model/config.json",
        "model/model.safetensors",
        "model/tokenizer.json",
        "model/tokenizer_config.json",
        "snippets/alpha.py",
        "snippets/beta.py",
        "study.toml",
        "tutorial/tut.py",
    ]


def test_prepare_stores_every_configured_explainer(tmp_path, bigram_lm):
    folder = make_study(
        tmp_path / "s",
        STUDY_TOML.replace("seed = 3", 'seed = 3\nexplainers = ["greedy", "attention", "integrated_gradients"]'),
    )
    card = prepare(folder, lm=bigram_lm)
    assert card["explainers"] == ["greedy", "attention", "integrated_gradients"]
    for task in read_tasks(folder / "tasks.jsonl") + read_tasks(folder / "tutorial.jsonl"):
        assert task.explainer_names() == ["greedy", "attention", "integrated_gradients"]
        t = task.target.token_index
        # the bigram model reads the last token only: every explainer puts it (its unit) first,
        # that unit alone is exactly as good as the whole context, and equal sets are equally faithful
        last = task.tokens[t - 1].units[-1]
        for name in task.explainer_names():
            e = task.explanation(name)
            assert e.units == [last]
            assert e.sufficiency == pytest.approx(0.0, abs=1e-6)
            assert e.comprehensiveness == task.explanation("greedy").comprehensiveness
        assert task.explanation("attention").unit_scores[last] > 0  # attention is spread, but covers it


def test_prepare_is_byte_identical_on_rerun(tmp_path, bigram_lm):
    folder = make_study(tmp_path / "s")
    prepare(folder, lm=bigram_lm)
    first = {name: (folder / name).read_bytes() for name in ("tasks.jsonl", "tutorial.jsonl", "model_card.json")}
    prepare(folder, lm=bigram_lm)
    assert first == {name: (folder / name).read_bytes() for name in first}


def test_categories_restrict_targets(tmp_path, bigram_lm):
    folder = make_study(tmp_path / "s", STUDY_TOML.replace("seed = 3", 'seed = 3\ncategories = ["identifiers"]'))
    prepare(folder, lm=bigram_lm)
    tasks = read_tasks(folder / "tasks.jsonl")
    assert {t.units[t.target.unit_index].text for t in tasks} == {"x"}


def test_converged_selection_skips_unconverged_targets(tmp_path, bigram_lm, monkeypatch):
    real = codeq.study.tasks.rationalize

    def odd_positions_fail(lm, sequences, targets, **kwargs):
        return [
            Rationale(**{**vars(r), "converged": r.target_position % 2 == 0})
            for r in real(lm, sequences, targets, **kwargs)
        ]

    monkeypatch.setattr(codeq.study.tasks, "rationalize", odd_positions_fail)
    folder = make_study(tmp_path / "s")
    prepare(folder, lm=bigram_lm)
    tasks = read_tasks(folder / "tasks.jsonl")
    assert len(tasks) == 4
    assert all(t.target.token_index % 2 == 0 and t.rationale.converged for t in tasks)


def test_prompt_drops_source_header_and_trailing_whitespace(tmp_path):
    folder = make_study(tmp_path / "s")
    (folder / "snippets" / "alpha.py").write_text("# source: m.f\n// source: x\ndef f(a):\n    return a\n\n")
    snippets = read_snippets(folder / "snippets", "s", "python")
    assert snippets[0].prompt == "def f(a):\n    return a"


BAD = [
    (
        STUDY_TOML.replace('[model]\nname = "codeq-tiny"\ndtype = "fp32"\n', ""),
        "missing table [model] (needed by codeq prepare)",
    ),
    ("this is not toml", "not valid TOML"),
    (STUDY_TOML.replace('id = "s"', 'titel = "x"'), "[study]: unknown key 'titel' (did you mean 'title'?)"),
    (STUDY_TOML.replace('id = "s"\n', ""), "[study]: missing required key 'id'"),
    (STUDY_TOML.replace('contact = "lab@example.org"\n', ""), "[study]: missing required key 'contact'"),
    (
        STUDY_TOML.replace("min_context_units", "min_context_unit"),
        "[prepare]: unknown key 'min_context_unit' (did you mean 'min_context_units'?)",
    ),
    (
        STUDY_TOML.replace("second_phase", "second_phse"),
        "[annotation]: unknown key 'second_phse' (did you mean 'second_phase'?)",
    ),
    (STUDY_TOML + "[prepar]\n", "unknown key 'prepar' (did you mean 'prepare'?)"),
    (STUDY_TOML.replace('id = "s"', 'id = "a b"'), "[study]: id 'a b' must be"),
    (STUDY_TOML.replace('name = "codeq-tiny"\n', ""), "[model]: missing required key 'name'"),
    (
        STUDY_TOML.replace('dtype = "fp32"', 'dtype = "int8"'),
        "[model]: dtype must be one of fp32, bf16, fp16, got 'int8'",
    ),
    (STUDY_TOML.replace('language = "python"', 'language = "cobol"'), "[prepare]: language must be one of"),
    (STUDY_TOML.replace("targets_per_snippet = 2\n", ""), "[prepare]: missing required key 'targets_per_snippet'"),
    (
        STUDY_TOML.replace("targets_per_snippet = 2", 'targets_per_snippet = "2"'),
        "[prepare]: targets_per_snippet must be an integer, got '2'",
    ),
    (
        STUDY_TOML.replace("targets_per_snippet = 2", "targets_per_snippet = 0"),
        "[prepare]: targets_per_snippet must be at least 1",
    ),
    (STUDY_TOML.replace('selection = "converged"', 'selection = "best"'), "[prepare]: selection must be one of"),
    (
        STUDY_TOML.replace("seed = 3", 'seed = 3\ncategories = ["loops", "lopos"]'),
        "[prepare]: categories has 'lopos', not a python category (did you mean 'loops'? valid: "
        + ", ".join(load_taxonomy("python").categories)
        + ")",
    ),
    (
        STUDY_TOML.replace("seed = 3", 'seed = 3\ncategories = ["identifier"]'),
        "categories has 'identifier', not a python category (did you mean 'identifiers'? valid: indentation,",
    ),
    (STUDY_TOML.replace("seed = 3", 'seed = 3\ncategories = "loops"'), "[prepare]: categories must be a list"),
    (
        STUDY_TOML.replace("seed = 3", 'seed = 3\nexplainers = ["greedy", "lime"]'),
        "[prepare]: explainers must be one of greedy, attention, attention_rollout, saliency, grad_x_input, integrated_gradients, occlusion, got 'lime'",
    ),
    (
        STUDY_TOML.replace("seed = 3", 'seed = 3\nexplainers = ["occlusion", "occlusion"]'),
        "[prepare]: explainers names one explainer twice",
    ),
]


@pytest.mark.parametrize("toml, message", BAD)
def test_bad_study_toml_names_file_and_key(tmp_path, toml, message):
    folder = make_study(tmp_path / "s", toml)
    with pytest.raises(StudyError) as info:
        read_study(folder)
    assert str(info.value).startswith(str(folder / "study.toml"))
    assert message in str(info.value)


def test_cli_reports_a_bad_study_in_one_line(tmp_path):
    folder = make_study(tmp_path / "s", STUDY_TOML.replace("targets_per_snippet = 2\n", ""))
    result = CliRunner().invoke(main, ["prepare", str(folder)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {folder / 'study.toml'} [prepare]: missing required key 'targets_per_snippet'"
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["prepare", str(empty)])
    assert result.exit_code == 1 and "no such file" in result.output and "Traceback" not in result.output


def test_missing_snippets_folder(tmp_path, bigram_lm):
    folder = make_study(tmp_path / "s")
    for f in (folder / "snippets").iterdir():
        f.unlink()
    with pytest.raises(StudyError, match="no .py snippet files"):
        prepare(folder, lm=bigram_lm)


def test_function_snippets_cut_prompts_inside_each_function(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(
        "class A:\n    def m(self, a):\n        b = a\n        c = b\n        d = c\n"
        "        e = d\n        return e\n\ndef short():\n    pass\n"
    )
    snippets = function_snippets(path, "python", min_lines=3)
    # m has 6 lines: the prompt is its first 3, dedented; short() has 2 lines and is skipped
    assert [(s.snippet_id, s.prompt) for s in snippets] == [("m-m-L2", "def m(self, a):\n    b = a\n    c = b")]


def test_a_study_without_a_practice_task_is_an_error(tmp_path, bigram_lm):
    folder = make_study(tmp_path / "s")
    prepare(folder, lm=bigram_lm)
    (folder / "tutorial" / "tut.py").rename(folder / "tutorial" / "tut.txt")
    with pytest.raises(StudyError, match=r"tutorial: no \.py snippet files"):
        prepare(folder, lm=bigram_lm)
    (folder / "tutorial" / "tut.txt").unlink()
    (folder / "tutorial").rmdir()
    with pytest.raises(StudyError, match=r"tutorial: no such tutorial folder \(\[prepare\] tutorial\)"):
        prepare(folder, lm=bigram_lm)
    (folder / "tutorial").mkdir()
    # the bigram model's " + y + y ..." after "y y" never parses
    (folder / "tutorial" / "tut.py").write_text("def h(y):\n    return y y")
    with pytest.raises(StudyError, match="the tutorial snippet tut gave no eligible target"):
        prepare(folder, lm=bigram_lm)


def test_tasks_per_participant_is_checked_at_prepare(tmp_path, bigram_lm):
    folder = make_study(tmp_path / "s", STUDY_TOML.replace("tasks_per_participant = 2", "tasks_per_participant = 5"))
    with pytest.raises(StudyError, match="tasks_per_participant = 5 but prepare made only 4 tasks"):
        prepare(folder, lm=bigram_lm)


def test_files_of_other_languages_are_listed_as_ignored(tmp_path, bigram_lm):
    folder = make_study(tmp_path / "s")
    (folder / "snippets" / "other.js").write_text("function f() {}")
    (folder / "snippets" / "shout.PY").write_text("def f(): pass")
    (folder / "snippets" / ".hidden.py~").write_text("")
    card = prepare(folder, lm=bigram_lm)
    assert card["warnings"] == [
        f"ignored in {folder / 'snippets'}: other.js, shout.PY (a python study reads *.py files only)"
    ]


EMPTY_CASES = [
    # every completion token of alpha and beta is " +" (operators) or " x" (identifiers)
    (
        'seed = 3\ncategories = ["loops"]',
        [
            "snippet alpha has 0 of 2 targets (candidates left out: 12 category)",
            "snippet beta has 0 of 2 targets (candidates left out: 12 category)",
            "to admit more: add to [prepare] categories: identifiers (12), operators (12)",
        ],
    ),
    # alpha's prompt has 12 units, beta's 19: 400 leaves every candidate short of context
    (
        "min_context_units = 400",
        [
            "snippet alpha has 0 of 2 targets (candidates left out: 12 too little context)",
            "snippet beta has 0 of 2 targets (candidates left out: 12 too little context)",
            "to admit more: lower [prepare] min_context_units (now 400)",
        ],
    ),
]


@pytest.mark.parametrize("setting, details", EMPTY_CASES)
def test_an_empty_result_says_per_snippet_what_each_rule_left_out(tmp_path, bigram_lm, setting, details):
    key = setting.split(" ")[0] if setting.startswith("min") else "seed = 3"
    toml = (
        STUDY_TOML.replace("min_context_units = 5", setting) if key != "seed = 3" else STUDY_TOML.replace(key, setting)
    )
    folder = make_study(tmp_path / "s", toml)
    with pytest.raises(NoTargetsError) as info:
        prepare(folder, lm=bigram_lm)
    assert str(info.value) == f"{folder}: no snippet gave an eligible target (2 snippets; why: above)"
    assert info.value.details == details


def test_the_cli_prints_why_before_the_error_and_the_language_check_comes_first(tmp_path, bigram_lm, monkeypatch):
    folder = make_study(tmp_path / "s", STUDY_TOML.replace("min_context_units = 5", "min_context_units = 400"))
    card_dir = tmp_path / "card"
    card_dir.mkdir()
    (card_dir / "README.md").write_text("---\nprogramming_language:\n- java\n---\n# A Java model\n")
    monkeypatch.setattr(bigram_lm.model.config, "_name_or_path", str(card_dir))
    monkeypatch.setattr(codeq.study.prepare, "load_model", lambda *args, **kwargs: bigram_lm)
    result = CliRunner().invoke(main, ["prepare", str(folder)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "the model card of bigram names java, not python",
        "snippet alpha has 0 of 2 targets (candidates left out: 12 too little context)",
        "snippet beta has 0 of 2 targets (candidates left out: 12 too little context)",
        "to admit more: lower [prepare] min_context_units (now 400)",
        f"Error: {folder}: no snippet gave an eligible target (2 snippets; why: above)",
    ]


def test_snippets_short_of_targets_are_listed(tmp_path, bigram_lm):
    folder = make_study(tmp_path / "s", STUDY_TOML.replace("targets_per_snippet = 2", "targets_per_snippet = 20"))
    card = prepare(folder, lm=bigram_lm)
    # 12 new tokens cannot hold 20 targets
    tasks = read_tasks(folder / "tasks.jsonl")
    assert 0 < len(tasks) < 40
    assert card["snippets_short_of_targets"] == ["alpha", "beta"]
    assert card["warnings"] == [
        "snippet alpha has 12 of 20 targets (every candidate became a target: the completion holds no more)",
        "snippet beta has 12 of 20 targets (every candidate became a target: the completion holds no more)",
        "to admit more: raise [prepare] max_new_tokens (now 12) or use another model",
    ]


def test_snippet_longer_than_the_context_is_one_line_error(tmp_path, bigram_lm):
    folder = make_study(tmp_path / "s")
    (folder / "snippets" / "beta.py").write_text("def g(n):\n" + "    n = n + 1\n" * 60 + "    return n")
    with pytest.raises(ValueError) as err:
        prepare(folder, lm=bigram_lm)
    message = str(err.value)
    assert message.startswith("snippet beta: the prompt (") and "\n" not in message
    assert "but the model's context holds 256 tokens" in message


def test_prepare_warns_one_line_for_each_probable_mistake(tmp_path, bigram_lm, monkeypatch):
    folder = make_study(tmp_path / "s", STUDY_TOML.replace("targets_per_snippet = 2", "targets_per_snippet = 20"))
    (folder / "snippets" / "gamma.py").write_text("# source: a header line\ndef broken(a):\n    return a a + a + a")
    card_dir = tmp_path / "card"
    card_dir.mkdir()
    (card_dir / "README.md").write_text("---\nprogramming_language:\n- java\ntags:\n- code\n---\n# A Java model\n")
    monkeypatch.setattr(bigram_lm.model.config, "_name_or_path", str(card_dir))
    monkeypatch.setattr(codeq.study.prepare, "load_model", lambda *args, **kwargs: bigram_lm)
    result = CliRunner().invoke(main, ["prepare", str(folder)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    card = json.loads((folder / "model_card.json").read_text())
    # 12 new tokens cannot hold 20 targets; gamma's line 3 does not parse, so all 12 are screened out
    assert warnings == [
        "Warning: the model card of bigram names java, not python",
        "Warning: snippet gamma does not parse as python: a syntax error on line 3 (return a a + a + a)",
        "Warning: snippet alpha has 12 of 20 targets (every candidate became a target: the completion holds no more)",
        "Warning: snippet beta has 12 of 20 targets (every candidate became a target: the completion holds no more)",
        "Warning: snippet gamma has 0 of 20 targets (candidates left out: 12 does not parse)",
        "Warning: to admit more: use a model that writes python (codeq compat-finetune --suffix .py on python "
        "sources; docs/instruments.md)",
        "Warning: to admit more: raise [prepare] max_new_tokens (now 12) or use another model",
    ]
    assert card["warnings"] == [w.removeprefix("Warning: ") for w in warnings]


def test_line_end_targets_are_a_warning(tmp_path, bigram_lm):
    folder = make_study(tmp_path / "s")
    prepare(folder, lm=bigram_lm)
    tasks = read_tasks(folder / "tasks.jsonl")
    study = read_study(folder)
    assert target_warnings(study, tasks, []) == []
    tasks[1].units[tasks[1].target.unit_index].category = "newline"
    assert target_warnings(study, tasks, []) == [
        "1 targets are line ends or indentation (first: s-alpha-t2); list the target categories in [prepare] categories"
    ]


def test_targets_in_code_that_does_not_parse_are_screened_out_and_listed(tmp_path, bigram_lm):
    folder = make_study(tmp_path / "s")
    # the bigram model writes " + x + x ..." after two names in a row
    (folder / "snippets" / "gamma.py").write_text("def k(a, b):\n    return a b")
    card = prepare(folder, lm=bigram_lm)
    tasks = read_tasks(folder / "tasks.jsonl")
    assert [t.task_id for t in tasks] == ["s-alpha-t1", "s-alpha-t2", "s-beta-t1", "s-beta-t2"]
    assert card["snippets_short_of_targets"] == ["gamma"]
    # 12 new tokens, each starting a unit past the 13 prompt units, all on the prompt's last line
    assert card["screened_out"] == [
        {
            "snippet": "s-gamma",
            "line": 2,
            "text": "    return a b" + " + x" * 6,
            "reason": "parse_error",
            "candidates": 12,
        }
    ]


def test_head_snippets_cut_after_the_first_statement_past_the_docstring():
    from codeq.source.snippets import head_snippets

    code = (
        'class A:\n    @property\n    def m(self, a):\n        """Doc."""\n        # why\n'
        "        b = (a +\n             1)\n        return b\n\n"
        "def one(x): return x\n\ndef two(x):\n    return x\n"
    )
    # one() is a single line and two() has nothing after its first statement: both skipped
    assert [(s.snippet_id, s.prompt) for s in head_snippets(code, "mod")] == [
        ("mod-m-L3", 'def m(self, a):\n    """Doc."""\n    # why\n    b = (a +\n         1)')
    ]


def test_too_few_snippets_for_one_task_per_snippet_is_a_warning(tmp_path, bigram_lm):
    folder = make_study(tmp_path / "s")
    prepare(folder, lm=bigram_lm)
    tasks = read_tasks(folder / "tasks.jsonl")  # 2 snippets, 2 tasks each
    toml = folder / "study.toml"
    toml.write_text(STUDY_TOML.replace("tasks_per_participant = 2", "tasks_per_participant = 3"))
    assert snippet_rule_warning(read_study(folder), tasks) == (
        "tasks_per_participant = 3 but with tasks_per_snippet = 1 a participant can get only 2 tasks "
        "(2 snippets): add snippets or raise [study] tasks_per_snippet"
    )
    toml.write_text(toml.read_text().replace("seed = 1\n", "seed = 1\ntasks_per_snippet = 2\n", 1))
    assert snippet_rule_warning(read_study(folder), tasks) is None
