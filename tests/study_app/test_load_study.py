"""`flask load-study`: imports, idempotence, versioning, and one-line errors for broken folders."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import func, select

from study_app.extensions import db
from study_app.models import Study, StudyTask


def load(runner, folder):
    return runner.invoke(args=["load-study", str(folder)])


def test_load_imports_every_task_kind(app, runner, study_dir):
    result = load(runner, study_dir)
    assert result.exit_code == 0, result.output
    assert "version 1" in result.output
    with app.app_context():
        study = db.session.scalar(select(Study))
        kinds = [(t.task_id, t.kind) for t in study.tasks]
        # fixture: tutorial.jsonl has 1 task, tasks.jsonl 3, study.toml one attention check on fx-0
        assert kinds == [
            ("tutorial-1", "tutorial"),
            ("fx-0", "main"),
            ("fx-1", "main"),
            ("fx-2", "main"),
            ("attention-1", "attention"),
        ]
        assert study.config["attention_checks"][0]["expected"] == [0]  # "def" is unit 0 of fx-0
        assert study.config["questions"][0]["id"] == "role"


def test_load_twice_is_idempotent(app, runner, study_dir):
    assert load(runner, study_dir).exit_code == 0
    result = load(runner, study_dir)
    assert result.exit_code == 0 and "unchanged, still version 1" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Study.id))) == 1
        assert db.session.scalar(select(func.count(StudyTask.id))) == 5


def test_changed_study_becomes_new_version(app, runner, study_dir, tmp_path):
    copy = shutil.copytree(study_dir, tmp_path / "pilot")
    assert load(runner, copy).exit_code == 0
    (copy / "consent.md").write_text("Changed consent text.\n")
    result = load(runner, copy)
    assert result.exit_code == 0 and "version 2" in result.output
    with app.app_context():
        versions = db.session.scalars(select(Study.version).order_by(Study.version)).all()
        assert versions == [1, 2]


def broken(study_dir, tmp_path, name, text):
    copy = shutil.copytree(study_dir, tmp_path / "pilot")
    (copy / name).write_text(text)
    return copy


def bad_task_line(study_dir):
    lines = (study_dir / "tasks.jsonl").read_text().splitlines()
    task = json.loads(lines[1])
    task["units"][0]["text"] = "XXX"
    return "\n".join([lines[0], json.dumps(task)]) + "\n"


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("study.toml", "[study\nid = 1", "study.toml: not valid TOML (Expected ']'"),
        ("study.toml", "[study]\nid = 'x'\n", "[study]: missing required key 'title'"),
        ("tasks.jsonl", None, "tasks.jsonl:2: units[0]"),
        ("tasks.jsonl", "{not json\n", "tasks.jsonl:1:"),
        ("questionnaire.toml", "[[questions]]\nid = 'a'\n", "questions[0]: missing required key 'text'"),
        (
            "questionnaire.toml",
            "[[questions]]\nid = 'a'\ntext = 'A?'\noption = ['x']\n",
            "questions[0]: unknown key 'option' (did you mean 'options'?)",
        ),
        ("tutorial.jsonl", "COPY", "task id 'fx-0' is used twice"),
        (
            "study.toml",
            "SHOW_OCCLUSION",
            "[annotation] explainer = 'occlusion': task tutorial-1 has no 'occlusion' explanation",
        ),
    ],
)
def test_broken_folder_gives_one_line_error(runner, study_dir, tmp_path, name, text, message):
    if text == "COPY":  # the tutorial reuses a main task's id
        text = (study_dir / "tasks.jsonl").read_text().splitlines()[0] + "\n"
    if text == "SHOW_OCCLUSION":  # phase 2 set to an explainer the (version 1) tasks do not carry
        text = (study_dir / "study.toml").read_text().replace("[annotation]", '[annotation]\nexplainer = "occlusion"')
    folder = broken(study_dir, tmp_path, name, bad_task_line(study_dir) if text is None else text)
    result = load(runner, folder)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output and result.output.startswith("Error: ")


FIXTURE_PROLIFIC = '[prolific]\ncompleted = { redirect = "https://example.org/done?cc={code}" }'


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("seed = 7", "seed = 7\ncompletion_code = 'C1'", "[study]: completion_code moved to [prolific] completed"),
        ("seed = 7", "seed = 7\nanswers_per_task = 0", "[study]: answers_per_task must be at least 1, got 0"),
        ("seed = 7", "seed = 7\ntasks_per_snippet = 0", "[study]: tasks_per_snippet must be at least 1, got 0"),
        (FIXTURE_PROLIFIC, "[prolific]\nattention_failures = 0", "[prolific]: attention_failures must be at least 1"),
        (
            FIXTURE_PROLIFIC,
            "[prolific]\nfull = { cod = 'F' }",
            "[prolific] full: unknown key 'cod' (did you mean 'code'?)",
        ),
        (
            FIXTURE_PROLIFIC,
            "[prolific]\nfull = { redirect = 'ftp://x' }",
            "[prolific] full: redirect must be an http(s) URL",
        ),
        (FIXTURE_PROLIFIC, "[prolific]\nfinished = { code = 'F' }", "[prolific]: unknown key 'finished'"),
    ],
)
def test_bad_coverage_and_outcome_settings_give_one_line_errors(runner, study_dir, tmp_path, old, new, message):
    text = (study_dir / "study.toml").read_text()
    assert old in text
    result = load(runner, broken(study_dir, tmp_path, "study.toml", text.replace(old, new)))
    assert result.exit_code != 0 and message in result.output, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "rule, message",
    [
        ('screen_out = ["Nobody"]', "screen_out names 'Nobody', not one of its options"),
        ('screen_out = ["Other"]', None),
    ],
)
def test_screen_out_names_options_of_a_choice(app, runner, study_dir, tmp_path, rule, message):
    old = '"Other"]\nrequired = true'
    text = (study_dir / "questionnaire.toml").read_text().replace(old, f"{old}\n{rule}", 1)
    result = load(runner, broken(study_dir, tmp_path, "questionnaire.toml", text))
    if message is not None:
        assert result.exit_code != 0 and message in result.output
        return
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(Study)).config["questions"][0]["screen_out"] == ["Other"]


def test_missing_folder(runner, tmp_path):
    result = load(runner, tmp_path / "nope")
    assert result.exit_code != 0 and "no such study folder" in result.output


def test_unknown_keys_are_errors_naming_the_nearest_key(runner, study_dir, tmp_path):
    text = (study_dir / "study.toml").read_text().replace("second_phase", "second_phse")
    result = load(runner, broken(study_dir, tmp_path, "study.toml", text))
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        f"Error: {tmp_path / 'pilot' / 'study.toml'} [annotation]: unknown key 'second_phse' (did you mean 'second_phase'?)"
    ]


PREPARE = """
[model]
name = "codeq-tiny"

[prepare]
language = "python"
targets_per_snippet = 1
"""


def record_preparation(folder):
    """Write the model card `codeq prepare` would: what the tasks were prepared from."""
    from contract.study_definition import preparation_hash, preparation_parts, read_definition

    parts = preparation_parts(read_definition(folder))
    card = {"prepared_from": preparation_hash(parts), "prepared_from_parts": parts}
    (folder / "model_card.json").write_text(json.dumps(card))


def test_stale_tasks_are_refused_naming_what_changed(runner, study_dir, tmp_path):
    copy = shutil.copytree(study_dir, tmp_path / "pilot")
    (copy / "study.toml").write_text((copy / "study.toml").read_text() + PREPARE)
    (copy / "snippets").mkdir()
    (copy / "snippets" / "a.py").write_text("def f(x):\n    return x")
    record_preparation(copy)
    assert load(runner, copy).exit_code == 0
    (copy / "snippets" / "a.py").write_text("def f(x):\n    return x + 1")
    (copy / "snippets" / "b.py").write_text("def g(x):\n    return x")
    result = load(runner, copy)
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        f"Error: {copy / 'tasks.jsonl'} is stale: snippets/a.py changed; snippets/b.py was added since it was "
        f"prepared; run `codeq prepare {copy}`"
    ]
    (copy / "snippets" / "a.py").write_text("def f(x):\n    return x")
    (copy / "snippets" / "b.py").unlink()
    (copy / "study.toml").write_text(
        (copy / "study.toml").read_text().replace("targets_per_snippet = 1", "targets_per_snippet = 2")
    )
    assert "is stale: study.toml's [model] or [prepare] changed since" in load(runner, copy).output


def test_new_model_weights_in_the_same_folder_make_the_tasks_stale(runner, study_dir, tmp_path):
    copy = shutil.copytree(study_dir, tmp_path / "pilot")
    model = tmp_path / "model"
    model.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (model / name).write_text(name)
    (copy / "study.toml").write_text((copy / "study.toml").read_text() + PREPARE.replace("codeq-tiny", str(model)))
    (copy / "snippets").mkdir()
    (copy / "snippets" / "a.py").write_text("def f(x):\n    return x")
    record_preparation(copy)
    assert load(runner, copy).exit_code == 0
    (model / "model.safetensors").write_text("other weights")
    assert "is stale: model/model.safetensors changed since" in load(runner, copy).output
    # a server without the model folder compares the rest only
    shutil.rmtree(model)
    assert load(runner, copy).exit_code == 0


def test_a_study_without_a_practice_task_is_refused(runner, study_dir, tmp_path):
    copy = shutil.copytree(study_dir, tmp_path / "pilot")
    (copy / "tutorial.jsonl").unlink()
    result = load(runner, copy)
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        f"Error: {copy / 'tutorial.jsonl'}: no such file; every study needs a practice task (a tutorial snippet "
        f"prepared by `codeq prepare {copy}`)"
    ]


def test_bundled_pilot_is_fresh():
    from pathlib import Path

    from contract.study_definition import preparation_hash, preparation_parts, read_definition

    pilot = Path(__file__).parents[2] / "instruments" / "pilot"
    card = json.loads((pilot / "model_card.json").read_text())
    assert card["prepared_from_parts"] == preparation_parts(read_definition(pilot))
    assert card["prepared_from"] == preparation_hash(card["prepared_from_parts"])
