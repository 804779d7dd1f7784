"""codeq corpus run: rows as `codeq prepare` builds them, the errors table, the manifest, kill and resume.

The reference is one uninterrupted local run over held-out standard-library functions plus bad items;
interrupted, resumed and Ray runs must end with exactly its rows. Ray tests are marked ``ray``.
"""

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from codeq.cli import main
from codeq.corpus_run.items import read_items
from codeq.corpus_run.manifest import RunSettings
from codeq.corpus_run.run import _write_results, run_corpus
from codeq.corpus_run.shards import read_table, shard_files
from codeq.source.snippets import function_snippets
from codeq.study.tasks import Snippet, TargetRules, build_tasks
from contract.prepared_tasks import Task

RULES = TargetRules(language="python", targets_per_snippet=2, selection="all", max_new_tokens=48, max_steps=20)
SETTINGS = RunSettings(model="codeq-tiny", dtype="fp32", rules=RULES)
STDLIB = Path(sysconfig.get_paths()["stdlib"])
# one record per line; what the errors table must say about the bad ones (the held-out functions are
# textwrap and heapq, never trained on)
BAD = [
    ('{"id": "blank", "code": "  \\n\\t\\n"}', "blank", "empty"),
    ('{"id": "prose", "code": "Dear reviewer, this is prose; not code!! (("}', "prose", "unparsable"),
    (json.dumps({"id": "long", "code": "total = total + 1\n" * 200}), "long", "too_long"),
    ("this line is not JSON", "items.jsonl:{n}", "unreadable"),
    ('{"id": "nocode"}', "nocode", "unreadable"),
    ('{"id": "java?", "code": "x", "language": "cobol"}', "java?", "unreadable"),
]


def heldout_snippets() -> list[Snippet]:
    snippets = (
        function_snippets(STDLIB / "heapq.py", "python")[:4] + function_snippets(STDLIB / "textwrap.py", "python")[3:6]
    )
    assert len(snippets) == 7
    return snippets


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A JSONL corpus: 7 held-out functions, the bad records of BAD, and a repeated id."""
    path = tmp_path_factory.mktemp("input") / "items.jsonl"
    lines = [json.dumps({"id": s.snippet_id, "code": s.prompt}) for s in heldout_snippets()]
    lines += [line for line, _, _ in BAD]
    lines.append(json.dumps({"id": heldout_snippets()[0].snippet_id, "code": "def again(): pass"}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory) -> Path:
    """One uninterrupted local run over the corpus, one item per shard."""
    out = tmp_path_factory.mktemp("reference") / "run"
    run_corpus(corpus, out, SETTINGS, threads=1, items_per_shard=1, progress=False)
    return out


@pytest.fixture(scope="module")
def lm():
    from codeq.model.loading import load_model

    return load_model("codeq-tiny", device="cpu", dtype="fp32")


def finished(out: Path) -> set[str]:
    return set(read_table(out, columns=[])["item_id"]) | set(read_table(out, "errors")["item_id"])


def same_values(a, b) -> bool:
    """Equal, floats to 1e-5 relative: an item's probabilities come from passes whose row count
    depends on the other items rationalized with it, and a pass of other shape takes other fp32
    kernels, which move a probability in the 7th digit (docs/engine.md, traps). Everything else,
    the search's decisions included, must be exactly equal."""
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_values(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple, np.ndarray)) and isinstance(b, (list, tuple, np.ndarray)):
        return len(a) == len(b) and all(same_values(x, y) for x, y in zip(a, b))
    return a == b


def assert_same_rows(rows: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(rows.columns) == list(expected.columns)
    assert len(rows) == len(expected)
    exact = [c for c in rows.columns if c not in ("rationale_probabilities", "task")]
    pd.testing.assert_frame_equal(rows[exact], expected[exact])
    assert same_values(list(rows["rationale_probabilities"]), list(expected["rationale_probabilities"]))
    assert same_values([json.loads(t) for t in rows["task"]], [json.loads(t) for t in expected["task"]])


def assert_same_run(out: Path, reference: Path) -> None:
    assert_same_rows(read_table(out), read_table(reference))
    pd.testing.assert_frame_equal(read_table(out, "errors"), read_table(reference, "errors"))


def test_rows_are_the_tasks_prepare_builds(reference, lm):
    rows = read_table(reference)
    by_item = {item_id: group for item_id, group in rows.groupby("item_id")}
    with_rows = 0
    for snippet in heldout_snippets():
        expected = build_tasks(
            lm, [Snippet(snippet.snippet_id, snippet.snippet_id, snippet.prompt)], RULES, "fp32", progress=False
        )
        if not expected:
            continue
        with_rows += 1
        group = by_item[snippet.snippet_id]
        assert same_values([json.loads(t) for t in group["task"]], [json.loads(t.to_json()) for t in expected])
        for task, row in zip(expected, group.itertuples()):
            assert row.target_position == task.target.token_index
            assert (
                row.target_token
                == task.text[task.tokens[row.target_position].start : task.tokens[row.target_position].end]
            )
            assert list(row.rationale_positions) == task.rationale.positions
            assert same_values(list(row.rationale_probabilities), task.rationale.probabilities)
            assert list(row.rationale_units) == task.rationale.units
            assert list(row.rationale_categories) == [task.units[u].category for u in task.rationale.units]
            assert row.converged == task.rationale.converged
            assert (row.model, row.dtype, row.codeq_version) == ("codeq-tiny", "fp32", "0.1.0")
    assert with_rows >= 3
    assert set(by_item) == {s.snippet_id for s in heldout_snippets()} - set(read_table(reference, "errors")["item_id"])
    for line in rows["task"]:
        Task.from_dict(json.loads(line)).validate()


def test_errors_table_names_each_bad_item(reference, lm):
    errors = read_table(reference, "errors").set_index("item_id")
    lines = 7 + len(BAD)
    for n, (_, item_id, reason) in enumerate(BAD, 8):
        assert errors.loc[item_id.format(n=n), "reason"] == reason
    assert errors.loc[f"items.jsonl:{lines + 1}", "reason"] == "duplicate_id"
    assert "200" not in errors.loc["long", "message"] and "512" in errors.loc["long", "message"]
    no_target = errors.index[errors["reason"] == "no_target"]
    for snippet in heldout_snippets():  # the oracle: prepare's own function finds no target either
        if snippet.snippet_id in no_target:
            assert build_tasks(lm, [snippet], RULES, "fp32", progress=False) == []
    assert len(errors) == len(BAD) + 1 + len(no_target)
    # every item is in exactly one place
    assert not set(errors.index) & set(read_table(reference)["item_id"])


def test_items_rationalized_alone_give_the_rows_of_items_batched_together(corpus, reference, tmp_path):
    # the reference run sends every item in one call and rationalizes them in one group
    alone = tmp_path / "alone"
    run_corpus(corpus, alone, SETTINGS, threads=1, items_per_shard=1, items_per_call=1, progress=False)
    assert_same_run(alone, reference)
    small_groups = tmp_path / "small-groups"
    run_corpus(corpus, small_groups, SETTINGS, threads=1, items_per_shard=4, tokens_in_flight=200, progress=False)
    assert_same_run(small_groups, reference)


def test_a_group_that_fails_is_retried_one_item_at_a_time(corpus, reference, tmp_path, monkeypatch):
    from codeq.corpus_run import worker

    real = worker.build_tasks
    broken = sorted(read_table(reference)["item_id"].unique())[0]

    def fails_on_one_item(lm, snippets, *args, **kwargs):
        if any(s.snippet_id == broken for s in snippets):
            raise RuntimeError("broken item\nsecond line")
        return real(lm, snippets, *args, **kwargs)

    monkeypatch.setattr(worker, "build_tasks", fails_on_one_item)
    out = tmp_path / "run"
    run_corpus(corpus, out, SETTINGS, threads=1, items_per_shard=1, progress=False)
    errors = read_table(out, "errors").set_index("item_id")
    assert errors.loc[broken, "reason"] == "failed"
    assert errors.loc[broken, "message"] == "RuntimeError: broken item"
    expected = read_table(reference)
    assert_same_rows(read_table(out), expected[expected["item_id"] != broken].reset_index(drop=True))


def test_results_written_twice_are_kept_once(reference, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    rows = read_table(reference)
    item_id = rows["item_id"].iloc[0]
    again = [{"item_id": item_id, "task": "{}"}]  # a retried batch handed back a second time
    result = pd.DataFrame({"item_id": [item_id], "rows": [json.dumps(again)], "error": [""]})
    assert _write_results(out, result, set(rows["item_id"]), items_per_shard=1) == 0
    assert_same_run(out, reference)


def run_in_subprocess(corpus: Path, out: Path, *extra: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "codeq.cli",
        "corpus",
        "run",
        str(corpus),
        "--out",
        str(out),
        "--model",
        "codeq-tiny",
        "--targets-per-item",
        "2",
        "--max-new-tokens",
        "48",
        "--max-steps",
        "20",
        "--items-per-shard",
        "1",
        "--items-per-call",
        "2",
        "--threads",
        "1",
        *extra,
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())


def wait_for_shards(process: subprocess.Popen, out: Path, count: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while len(shard_files(out, "rationales")) + len(shard_files(out, "errors")) < count:
        assert process.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline, "no shard appeared in time"
        time.sleep(0.05)


def test_driver_killed_mid_run_resumes_to_the_same_rows(corpus, reference, tmp_path):
    out = tmp_path / "run"
    process = run_in_subprocess(corpus, out)
    wait_for_shards(process, out, 2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = read_table(out)
    assert 0 < partial["item_id"].nunique() < read_table(reference)["item_id"].nunique()
    items = {item.id for item in read_items(corpus, "python")[0]}
    finished_before = items & (set(partial["item_id"]) | set(read_table(out, "errors")["item_id"]))
    # a writer killed mid-write leaves a hidden temporary: ignored and removed on restart
    (out / "rationales" / ".part-0.parquet.1.tmp").write_bytes(b"PAR1 truncated")
    summary = run_corpus(corpus, out, SETTINGS, threads=1, items_per_shard=1, progress=False)
    assert_same_run(out, reference)
    assert not list((out / "rationales").glob(".*.tmp"))
    assert summary["rows"] == len(read_table(reference))
    assert summary["this_run"]["items"] == len(items - finished_before)  # nothing done twice


def test_rerun_of_a_finished_run_adds_nothing(reference, corpus, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    before = sorted(p.name for p in shard_files(out, "rationales") + shard_files(out, "errors"))
    run_corpus(corpus, out, SETTINGS, threads=1, items_per_shard=3, progress=False)
    assert sorted(p.name for p in shard_files(out, "rationales") + shard_files(out, "errors")) == before
    assert_same_run(out, reference)


def test_changed_settings_are_refused_in_one_line(reference, corpus, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    result = CliRunner().invoke(
        main,
        [
            "corpus",
            "run",
            str(corpus),
            "--out",
            str(out),
            "--model",
            "codeq-tiny",
            "--targets-per-item",
            "2",
            "--max-new-tokens",
            "48",
            "--max-steps",
            "19",
        ],
    )
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "max_steps was 20, now 19" in result.output and "Traceback" not in result.output
    assert_same_run(out, reference)


def test_manifest_without_rows_takes_new_settings(corpus, tmp_path):
    from codeq.corpus_run.manifest import check_manifest

    out = tmp_path / "run"
    check_manifest(out, SETTINGS)
    check_manifest(out, replace(SETTINGS, dtype="bf16"))  # nothing written yet: a typo can be corrected
    assert json.loads((out / "manifest.json").read_text())["settings"]["dtype"] == "bf16"


def test_missing_ray_extra_is_one_line(corpus, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets without the extra
    result = CliRunner().invoke(
        main, ["corpus", "run", str(corpus), "--out", str(tmp_path / "run"), "--model", "codeq-tiny", "--engine", "ray"]
    )
    assert result.exit_code == 1
    assert result.output == "Error: --engine ray needs Ray: pip install 'codeq-study[ray]'\n"
    assert not (tmp_path / "run").exists()


def test_folder_input_items_are_function_snippets(tmp_path):
    folder = tmp_path / "src"
    (folder / "pkg").mkdir(parents=True)
    shutil.copy(STDLIB / "heapq.py", folder / "pkg" / "heapq.py")
    (folder / "latin1.py").write_bytes("s = 'caf\xe9'\n".encode("latin-1"))
    items, errors = read_items(folder, "python")
    expected = function_snippets(STDLIB / "heapq.py", "python", name="pkg.heapq")
    assert [(i.id, i.code) for i in items] == [(s.snippet_id, s.prompt) for s in expected]
    assert [(e["item_id"], e["reason"]) for e in errors] == [("latin1", "unreadable")]


def descendants(pid: int) -> list[int]:
    """Process ids below ``pid``, from /proc (Linux)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def actor_processes(pid: int) -> list[int]:
    actors = []
    for child in descendants(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "ItemRationalizer" in cmdline:
            actors.append(child)
    return actors


@pytest.mark.ray
def test_ray_two_workers_give_the_local_rows(corpus, reference, tmp_path):
    out = tmp_path / "run"
    run_corpus(corpus, out, SETTINGS, engine="ray", workers=2, threads=1, items_per_shard=2, progress=False)
    assert_same_run(out, reference)


@pytest.mark.ray
def test_ray_worker_then_driver_killed_resumes_to_the_same_rows(corpus, reference, tmp_path):
    out = tmp_path / "run"
    process = run_in_subprocess(corpus, out, "--engine", "ray", "--workers", "2")
    wait_for_shards(process, out, 1)
    actors = actor_processes(process.pid)
    assert actors, "no Ray actor process found below the driver"
    os.kill(actors[0], signal.SIGKILL)
    written = len(shard_files(out, "rationales")) + len(shard_files(out, "errors"))
    wait_for_shards(process, out, written + 1)  # Ray replaced the actor and the run went on
    ours = descendants(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait()
    time.sleep(5)
    for pid in ours:  # a killed driver leaves Ray's agent processes behind: end ours
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
    assert len(finished(out)) < len(finished(reference))
    run_corpus(corpus, out, SETTINGS, engine="ray", workers=2, threads=1, items_per_shard=1, progress=False)
    assert_same_run(out, reference)


def test_docs_describe_every_column():
    from contract.corpus_run import ERROR_COLUMNS, RATIONALE_COLUMNS, REASONS

    text = (Path(__file__).parents[2] / "docs" / "scale.md").read_text(encoding="utf-8")
    missing = [name for name, _, _ in RATIONALE_COLUMNS + ERROR_COLUMNS if f"`{name}`" not in text]
    assert missing == []
    assert [reason for reason in REASONS if f"| `{reason}` |" not in text] == []


def test_model_that_cannot_load_is_one_line_before_any_write(corpus, tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "corpus",
            "run",
            str(corpus),
            "--out",
            str(tmp_path / "run"),
            "--model",
            str(tmp_path / "no-model"),
            "--engine",
            "ray",
        ],
    )
    assert result.exit_code == 1
    assert result.output == f"Error: model path {tmp_path / 'no-model'} does not exist\n"
    assert not (tmp_path / "run").exists()


def test_no_completion_rationalizes_tokens_the_model_predicts_in_the_code(corpus, lm, tmp_path):
    import torch

    settings = replace(SETTINGS, completion=False)
    run_corpus(corpus, tmp_path / "run", settings, threads=1, progress=False)
    rows = read_table(tmp_path / "run")
    assert rows["item_id"].nunique() >= 3
    code = {s.snippet_id: s.prompt for s in heldout_snippets()}
    for row in rows.itertuples():
        task = Task.from_dict(json.loads(row.task))
        assert task.completion == "" and task.prompt == code[row.item_id]
        ids = [t.id for t in task.tokens]
        assert ids == lm.tokenizer(task.prompt)["input_ids"]
        with torch.inference_mode():  # the oracle: the model's own next-token argmax at the target
            logits = lm.model(input_ids=torch.tensor([ids[: row.target_position]])).logits[0, -1]
        assert int(logits.argmax()) == row.target_token_id == ids[row.target_position]
        assert task.units[task.target.unit_index].index >= RULES.min_context_units


def test_parquet_items_take_int_ids_and_the_default_language(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "items.parquet"
    pq.write_table(
        pa.table({"id": [7, 8, 7], "code": ["x = 1", None, "y = 2"], "language": [None, "python", "javascript"]}), path
    )
    items, errors = read_items(path, "python")
    assert [(i.id, i.code, i.language) for i in items] == [("7", "x = 1", "python")]
    assert sorted((e["item_id"], e["reason"]) for e in errors) == [
        ("8", "unreadable"),
        ("items.parquet:3", "duplicate_id"),
    ]
