"""`train_tiny` on a small stand-in standard library: held-out split, early stopping, a loadable model."""

import json

from codeq.loading import load_model
from codeq.tiny import HELDOUT_MODULES, stdlib_files, train_tiny

CODE = "def add(a, b):\n    return a + b\n\n\nclass Stack:\n    def push(self, item):\n        self.items.append(item)\n"


def fake_stdlib(root):
    for rel in ("os.py", "email/parser.py", "json/__init__.py", "csv.py", "test/test_os.py", "idlelib/run.py"):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {rel}\n" + CODE * 40)
    return root


def test_train_tiny_on_a_stand_in_stdlib(tmp_path):
    root = fake_stdlib(tmp_path / "lib")
    train, heldout = stdlib_files(root)
    assert [p.relative_to(root).as_posix() for p in train] == ["email/parser.py", "os.py"]
    assert [p.relative_to(root).as_posix() for p in heldout] == ["csv.py", "json/__init__.py"]
    assert {"csv", "json"} <= set(HELDOUT_MODULES)

    out = tmp_path / "tiny"
    result = train_tiny(out, steps=2, vocab_size=300, batch_size=2, stdlib=root)
    assert result["train_files"] == 2 and result["heldout_tokens"] > 0
    assert result["best_step"] == 2 and [step for step, _ in result["heldout_curve"]] == [2]
    saved = json.loads((out / "training.json").read_text())
    assert saved["heldout_perplexity"] == result["heldout_perplexity"] > 1
    lm = load_model(str(out), device="cpu")
    assert len(lm.tokenizer) == 300 and lm.model.config.n_layer == 4


def test_train_tiny_cli_refuses_an_unknown_device_in_one_line(tmp_path):
    from click.testing import CliRunner

    from codeq.cli import main

    result = CliRunner().invoke(main, ["train-tiny", "--out", str(tmp_path / "tiny"), "--device", "gpu0"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip() == "Error: unknown device 'gpu0': use auto, cpu, cuda or cuda:N"
    assert not (tmp_path / "tiny").exists()  # refused before any work
