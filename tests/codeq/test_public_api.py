"""The package's public names stay what they are, however often used and whatever was imported first.

Each case runs in a fresh interpreter: an import order that rebinds a package attribute (a lazily
exported function named like its submodule) only shows in a process that has not imported it yet.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

SCRIPT = r"""
import json, sys, types
for module in sys.argv[1].split(","):
    if module:
        __import__(module)
import codeq

out = {}
for name in codeq.__all__:
    first, second = getattr(codeq, name), getattr(codeq, name)
    out[name] = [type(first).__name__, first is second, isinstance(first, types.ModuleType)]

lm = codeq.load_model("codeq-tiny", device="cpu", dtype="fp32")
lm2 = codeq.load_model("codeq-tiny", device="cpu", dtype="fp32")
prompt = "def add(a, b):"
c1 = codeq.complete(lm, prompt, max_new_tokens=8)
c2 = codeq.complete(lm2, prompt, max_new_tokens=8)
targets = codeq.predicted_positions(lm, c1.ids)[-2:]
again = codeq.predicted_positions(lm, c1.ids)[-2:]
r1 = codeq.rationalize(lm, c1.ids, targets, max_steps=3)
r2 = codeq.rationalize(lm, c1.ids, targets, max_steps=3)
out["calls"] = {
    "complete": [c1.text, c2.text, type(c1).__name__],
    "predicted_positions": [targets, again],
    "rationalize": [[r.positions for r in r1], [r.positions for r in r2], type(r1[0]).__name__],
}
print(json.dumps(out))
"""

IMPORT_ORDERS = [
    "",
    "codeq.rationales.search,codeq.model.completion,codeq.model.loading",
    "codeq.study.tasks",
    "codeq.study.prepare",
    "codeq.cli,contract.token_alignment,contract.prepared_tasks",
]


@pytest.mark.parametrize("first", IMPORT_ORDERS, ids=lambda s: s or "bare")
def test_public_names_survive_two_calls_in_any_import_order(first):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, first], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    calls = out.pop("calls")
    import codeq

    assert set(out) == set(codeq.__all__)
    expected_kinds = {
        "__version__": "str",
        "load_model": "function",
        "complete": "function",
        "rationalize": "function",
        "predicted_positions": "function",
        "LoadedModel": "type",
        "Completion": "type",
        "Rationale": "type",
        "ModelLoadError": "type",
    }
    assert {name: kind for name, (kind, _, _) in out.items()} == expected_kinds
    assert all(same and not module for _, same, module in out.values())
    text1, text2, kind = calls["complete"]
    assert text1 == text2 and kind == "Completion"
    assert calls["predicted_positions"][0] == calls["predicted_positions"][1]
    first_run, second_run, kind = calls["rationalize"]
    assert first_run == second_run and kind == "Rationale"
    # each rationale starts from the token before its target
    assert [p[0] for p in first_run] == [t - 1 for t in calls["predicted_positions"][0]]
