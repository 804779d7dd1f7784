"""The engine benchmarks run at their smallest size, and what they print adds up.

Each runs in a subprocess as a user runs it (``python bench/...``, the project importable as an
installed package would be); the figures are checked against an independent count where there is
one (the tokens a greedy search computes follow from the sizes of its rationales).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


def run(*command: str, env: dict | None = None, timeout: float = 600) -> str:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    result = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def search_tokens(rationales) -> int:
    """Tokens a greedy search computes: one for S = {t-1}, then (t - k) candidates of k + 1 tokens per step."""
    return sum(1 + sum((r.target_position - k) * (k + 1) for k in range(1, len(r.positions))) for r in rationales)


def number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in:\n{text}"
    return float(match.group(1))


def test_rationalize_bench_every_token_and_predicted():
    out = run(
        sys.executable,
        "bench/rationalize.py",
        "--snippets",
        "1",
        "--every-token-max-tokens",
        "8",
        "--max-tokens",
        "24",
        "--targets",
        "2",
        "--threads",
        "1",
    )
    from codeq.model.loading import load_model
    from codeq.rationales.reference import rationalize_reference
    from codeq.training.workload import heldout_functions

    torch.set_num_threads(1)
    lm = load_model("codeq-tiny", device="cpu", dtype="fp32")
    ids = lm.tokenizer(heldout_functions(1)[0])["input_ids"][:8]
    expected = search_tokens(rationalize_reference(lm.model, [ids], [list(range(1, 8))]))
    assert "every-token: 1 functions, 7 targets, mean length 8 tokens, longest 8" in out
    assert "predicted: 1 functions, 2 targets" in out
    for workload in ("every-token", "predicted"):
        label = f"{workload} 1 thread\\(s\\)"
        assert number(rf"{label}: measured torch.float32 matmul peak ([\d.]+) GFLOP/s", out) > 0.1
        for name in ("batched", "reference"):
            assert number(rf"{label} +{name}: +([\d.]+) targets/s", out) > 0
            assert number(rf"{label} +{name}: .* ([\d.]+) ms CPU/target", out) > 0
            assert number(rf"{label} +{name}: .*\((\d+) useful, 0 padding, 0.0%\)", out) > 0
            share = number(rf"{label} +{name} passes .* ([\d.]+)% of the measured matmul peak", out)
            assert 0 < share < 200  # a matmul of other shapes can beat the square one a little, never 2x
        assert re.search(rf"{label} +batched vs reference: .*rationales identical .*: True", out)
        # both compute the same candidate rows; the reference in more passes
        batched = number(rf"{label} +batched: .* (\d+) forward passes", out)
        assert number(rf"{label} +reference: .* (\d+) forward passes", out) >= batched
    every = r"every-token 1 thread\(s\) +{}: .* (\d+) tokens \("
    assert number(every.format("batched"), out) == number(every.format("reference"), out) == expected


def test_corpus_bench_batched_and_alone():
    out = run(sys.executable, "bench/corpus.py", "--items", "2", "--setups", "local/alone,local")
    assert out.splitlines()[0] == "2 items, model codeq-tiny fp32, 1 thread(s) per CPU worker"
    for setup in ("local/alone", "local"):
        line = next(line for line in out.splitlines() if line.startswith(f"{setup} "))
        assert number(r"([\d.]+) items/s incl. start-up", line) > 0
        assert number(r"([\d.]+) s CPU", line) > 0
        assert number(r"rows (\d+)", line) + number(r"errors (\d+)", line) >= 2  # every item is somewhere
        assert "rows identical to local/alone's but for probabilities: True" in line
        assert number(r"largest probability difference ([\d.e+-]+)", line) < 1e-5


def test_gpu_script_parses_and_runs_its_steps_on_the_cpu(tmp_path):
    script = ROOT / "bench" / "gpu_rationalize.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    out = tmp_path / "out"
    env = {"OUT": str(out), "DEVICE": "cpu", "QUICK": "1", "PYTHON": sys.executable}
    run("bash", str(script), env=env, timeout=1200)
    assert "no CUDA device" in (out / "device.txt").read_text()
    for name in ("bundled_bf16", "bundled_fp32", "gpt2_small_bf16", "gpt2_small_fp32"):
        text = (out / f"{name}.txt").read_text()
        assert "FAILED" not in text
        assert re.search(r"every-token \d+ thread\(s\) +batched vs reference: [\d.]+x wall", text), text
        assert "rationales identical (positions, predictions, converged): True" in text
    assert "FAILED" not in (out / "precision_error.txt").read_text()


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
