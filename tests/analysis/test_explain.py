"""Global explanations against independent computations: scipy entropy, pandas crosstab, hand counts;
the tasks-file and Parquet-shard inputs give identical outputs."""

import json
import math
import random

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import entropy

from analysis.__main__ import main
from analysis.entropy import normalized_entropy
from analysis.global_explanation import (
    category_frequencies,
    category_matrices,
    context_table,
    entropy_summary,
    explain_tasks,
    rationale_table,
)
from contract.prepared_tasks import ModelInfo, ModelRationale, Target, Task, Token, Unit, write_tasks

CATEGORIES = ["identifiers", "operators", "indentation", "punctuation", "strings"]


def make_task(task_id, snippet_id, categories, target, rationale_units, gains, converged=True):
    """A task whose units have the given categories (text = category initial + index), one token per unit."""
    text, units = "", []
    for i, cat in enumerate(categories):
        piece = f"{cat[0]}{i % 3} "
        units.append(
            Unit(
                index=i,
                start=len(text),
                end=len(text) + len(piece) - 1,
                text=piece[:-1],
                category=cat,
                group="semantic",
            )
        )
        text += piece
    return Task(
        task_id=task_id,
        language="python",
        model=ModelInfo("m", "local", "fp32"),
        snippet_id=snippet_id,
        prompt=text,
        completion="",
        units=units,
        tokens=[Token(index=u.index, start=u.start, end=u.end, id=u.index, units=[u.index]) for u in units],
        target=Target(token_index=target, token_id=target, unit_index=target, text=units[target].text),
        rationale=ModelRationale(
            positions=rationale_units,
            probabilities=[],
            top_prediction=0,
            converged=converged,
            units=rationale_units,
            unit_gains=gains,
        ),
        context_start=0,
    )


def random_tasks(n=40, seed=1):
    rng = random.Random(seed)
    tasks = []
    for k in range(n):
        cats = [rng.choice(CATEGORIES) for _ in range(12)]
        target = rng.randrange(6, 12)
        chosen = rng.sample(range(target), rng.randint(1, 5))
        tasks.append(
            make_task(
                f"t{k}",
                f"s{k // 3}",
                cats,
                target,
                chosen,
                [rng.random() for _ in chosen],
                converged=rng.random() < 0.8,
            )
        )
    return tasks


def test_matrices_equal_pandas_crosstab():
    table = rationale_table(random_tasks())
    counts, gains = category_matrices(table)
    expected = pd.crosstab(table["target_category"], table["category"])
    pd.testing.assert_frame_equal(counts, expected, check_dtype=False, check_names=False)
    expected_gain = pd.crosstab(table["target_category"], table["category"], values=table["gain"], aggfunc="mean")
    pd.testing.assert_frame_equal(gains, expected_gain, check_names=False)


def test_rationale_table_by_hand():
    task = make_task("a", "s", ["identifiers", "operators", "identifiers", "strings"], 3, [2, 0], [0.5, 0.25])
    table = rationale_table([task])
    assert table[["unit", "category", "target_category", "rank", "gain"]].values.tolist() == [
        [2, "identifiers", "strings", 1, 0.5],
        [0, "identifiers", "strings", 2, 0.25],
    ]
    assert context_table([task])["in_rationale"].tolist() == [True, False, True]


@pytest.mark.parametrize("counts", [[5, 3, 2], [1, 1, 1, 1], [10, 0, 1], [7], [1, 2, 3, 4, 5, 60]])
def test_normalized_entropy_observed_support_equals_scipy(counts):
    support = sum(c > 0 for c in counts)
    if support > 1:
        assert normalized_entropy(counts) == pytest.approx(entropy(counts) / math.log(support))
    else:  # one observed value: 0 / log 1 is undefined
        assert math.isnan(normalized_entropy(counts))


def test_entropy_reduction_by_hand():
    table = pd.DataFrame({"text": ["a", "b", "c", "d"], "category": ["x", "x", "x", "y"]})
    summary = entropy_summary(table)
    assert summary["token_entropy"] == pytest.approx(1.0)  # four distinct texts, uniform
    category = entropy([3, 1]) / math.log(2)
    assert summary["category_entropy"] == pytest.approx(category)
    assert summary["reduction"] == pytest.approx(1 - category)
    assert summary["token_bits"] == pytest.approx(2.0)  # log2(4)
    assert summary["category_bits"] == pytest.approx(entropy([3, 1], base=2))
    assert summary["reduction_bits"] == pytest.approx(1 - entropy([3, 1], base=2) / 2)


def test_frequencies_by_hand_and_bootstrap_properties():
    a = make_task("a", "s1", ["identifiers", "operators", "identifiers", "strings"], 3, [2, 0], [0.5, 0.25])
    b = make_task("b", "s2", ["operators", "operators", "strings", "strings"], 3, [1], [0.1])
    freqs = category_frequencies(rationale_table([a, b]), context_table([a, b]), n_boot=500, seed=0)
    # by hand: rationale units identifiers 2, operators 1 of 3; context identifiers 2, operators 3, strings 1
    assert freqs.loc["identifiers", "share"] == pytest.approx(2 / 3)
    assert freqs.loc["operators", "share"] == pytest.approx(1 / 3)
    assert freqs.loc["identifiers", "rate"] == pytest.approx(1.0)
    assert freqs.loc["operators", "rate"] == pytest.approx(1 / 3)
    assert freqs.loc["strings", "rate"] == 0
    # with two snippets the bootstrap can draw s1 twice (identifiers share 1) or s2 twice (share 0)
    assert freqs.loc["identifiers", "share_low"] == 0 and freqs.loc["identifiers", "share_high"] == 1
    again = category_frequencies(rationale_table([a, b]), context_table([a, b]), n_boot=500, seed=0)
    pd.testing.assert_frame_equal(freqs, again)


def test_bootstrap_resamples_snippets_not_tasks():
    tasks = random_tasks(60)
    rat, ctx = rationale_table(tasks), context_table(tasks)
    by_snippet = category_frequencies(rat, ctx, cluster="snippet_id", n_boot=300, seed=0)
    one = category_frequencies(rat[rat.snippet_id == "s0"], ctx[ctx.snippet_id == "s0"], n_boot=50, seed=0)
    # a single snippet: every replicate is that snippet, so the interval collapses to the estimate
    assert np.allclose(one["share_low"], one["share"]) and np.allclose(one["share_high"], one["share"])
    assert (
        (by_snippet["share_low"] <= by_snippet["share"] + 1e-12)
        & (by_snippet["share"] <= by_snippet["share_high"] + 1e-12)
    ).all()


def test_explain_cli_writes_outputs(tmp_path):
    tasks = random_tasks()
    write_tasks(tasks, tmp_path / "r.jsonl")
    result = CliRunner().invoke(
        main, ["explain", str(tmp_path / "r.jsonl"), "--out", str(tmp_path / "out"), "--n-boot", "100"]
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == {
        "rationale_units.csv",
        "counts.csv",
        "mean_gain.csv",
        "frequencies.csv",
        "heatmap.png",
        "summary.json",
    }
    summary = json.loads((out / "summary.json").read_text())
    converged = sum(t.rationale.converged for t in tasks)
    assert (summary["tasks"], summary["converged"], summary["aggregated"]) == (len(tasks), converged, converged)
    assert summary["rationale_units"] == sum(len(t.rationale.units) for t in tasks if t.rationale.converged)
    assert (out / "heatmap.png").read_bytes()[:4] == b"\x89PNG"


def test_a_study_folder_gives_its_tasks_file(tmp_path):
    tasks = random_tasks(12, seed=2)
    study = tmp_path / "study"
    study.mkdir()
    write_tasks(tasks, study / "tasks.jsonl")
    write_tasks(tasks[:1], study / "tutorial.jsonl")  # the practice task is not aggregated
    for source, out in ((study / "tasks.jsonl", "a"), (study, "b")):
        result = CliRunner().invoke(main, ["explain", str(source), "--out", str(tmp_path / out), "--n-boot", "50"])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "summary.json").read_bytes() == (tmp_path / "b" / "summary.json").read_bytes()
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["tasks"] == 12


def test_explain_with_nothing_converged_is_a_clear_error(tmp_path):
    tasks = [make_task("a", "s", ["identifiers"] * 3, 2, [0], [0.1], converged=False)]
    with pytest.raises(ValueError, match="no rationales to aggregate \\(none converged\\)"):
        explain_tasks(tasks, tmp_path)
    write_tasks(tasks, tmp_path / "r.jsonl")
    result = CliRunner().invoke(main, ["explain", str(tmp_path / "r.jsonl"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and result.output.strip() == "Error: no rationales to aggregate (none converged)"


def write_shards(folder, tasks, sizes):
    """Write ``tasks`` as Parquet shards of the given sizes, each row's ``task`` the task's JSON, plus an item column."""
    folder.mkdir(parents=True)
    start = 0
    for k, size in enumerate(sizes):
        part = tasks[start : start + size]
        start += size
        frame = pd.DataFrame({"item": [t.snippet_id for t in part], "task": [t.to_json() for t in part]})
        frame.to_parquet(folder / f"shard-{k:05d}.parquet", index=False)
    return folder


def test_parquet_shards_give_the_same_outputs_as_the_tasks_file(tmp_path):
    tasks = random_tasks(30, seed=5)
    write_tasks(tasks, tmp_path / "r.jsonl")
    # the shards hold the tasks in another order: the outputs must not depend on it
    shards = write_shards(tmp_path / "shards", tasks[::-1], [7, 0, 13, 10])
    for source, out in ((tmp_path / "r.jsonl", "a"), (shards, "b")):
        result = CliRunner().invoke(main, ["explain", str(source), "--out", str(tmp_path / out), "--n-boot", "200"])
        assert result.exit_code == 0, result.output
    for name in ("rationale_units.csv", "counts.csv", "mean_gain.csv", "frequencies.csv", "summary.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["tasks"] == 30 and summary["rationale_units"] == sum(
        len(t.rationale.units) for t in tasks if t.rationale.converged
    )


def test_bad_shards_are_one_line_errors(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    pd.DataFrame({"item": ["x"], "text": ["{}"]}).to_parquet(folder / "a.parquet")
    result = CliRunner().invoke(main, ["explain", str(folder), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and result.output.strip() == "Error: a.parquet: no 'task' column (not a corpus shard?)"
    pd.DataFrame({"task": [random_tasks(1)[0].to_json(), '{"task_id": 1}']}).to_parquet(folder / "a.parquet")
    result = CliRunner().invoke(main, ["explain", str(folder), "--out", str(tmp_path / "o")])
    assert result.output.strip() == "Error: a.parquet: row 2: missing field 'model' (not a codeq task?)"
    result = CliRunner().invoke(main, ["explain", str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "no such file or folder" in result.output


def test_a_corpus_run_folder_is_read_through_its_rationales(tmp_path):
    tasks = random_tasks(12, seed=2)
    run = tmp_path / "run"
    write_shards(run / "rationales", tasks, [5, 7])
    (run / "errors").mkdir()
    pd.DataFrame({"item_id": ["bad"], "reason": ["empty"]}).to_parquet(run / "errors" / "e.parquet")
    (run / "manifest.json").write_text("{}")
    write_tasks(tasks, tmp_path / "r.jsonl")
    for source, out in ((tmp_path / "r.jsonl", "a"), (run, "b")):
        result = CliRunner().invoke(main, ["explain", str(source), "--out", str(tmp_path / out), "--n-boot", "100"])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "counts.csv").read_bytes() == (tmp_path / "b" / "counts.csv").read_bytes()
