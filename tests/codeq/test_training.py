"""Word dropout: mask semantics, equivalence with subset forward passes, resumable training, early stopping."""

import pytest
import torch
from transformers import GPT2LMHeadModel

from codeq.model.loading import LoadedModel
from codeq.model.random_models import build
from codeq.source.snippets import source_files
from codeq.training.compat import compat_finetune
from codeq.training.loop import TrainConfig, evaluate_loss, train, word_dropout_mask


def test_word_dropout_mask_matches_brute_force():
    mask = word_dropout_mask(3, 7, torch.Generator().manual_seed(4))
    gen = torch.Generator().manual_seed(4)  # replay the draws: a keep rate per sequence, then one draw per token
    rate = torch.rand(3, 1, generator=gen)
    keep = torch.rand(3, 7, generator=gen) < rate
    assert mask.shape == (3, 1, 7, 7) and mask.dtype == torch.bool
    for b in range(3):
        for i in range(7):
            for j in range(7):
                assert mask[b, 0, i, j].item() == (j <= i and (bool(keep[b, j]) or i == j))


def test_word_dropout_mask_hides_tokens():
    mask = word_dropout_mask(16, 32, torch.Generator().manual_seed(0))
    kept = mask[:, 0, -1].float().mean().item()  # the last query sees every kept token
    assert 0.2 < kept < 0.8  # keep rates are uniform per sequence: about half overall


def test_masked_training_forward_equals_subset_forward(tiny_model):
    x = torch.randint(0, 48, (2, 9), generator=torch.Generator().manual_seed(2))
    mask = word_dropout_mask(2, 9, torch.Generator().manual_seed(1))
    out = tiny_model(input_ids=x, attention_mask=mask, labels=x, use_cache=False)
    losses = []
    for b in range(2):
        for i in range(9):
            subset = mask[b, 0, i].nonzero().squeeze(1)  # visible positions of query i, ending with i
            pos = subset[None]
            logits = tiny_model(
                input_ids=x[b, subset][None], position_ids=pos, attention_mask=torch.ones_like(pos), use_cache=False
            ).logits[0, -1]
            torch.testing.assert_close(out.logits[b, i], logits)
            if i < 8:
                losses.append(-logits.log_softmax(-1)[x[b, i + 1]])
    assert out.loss.item() == pytest.approx(
        torch.stack(losses).mean().item(), rel=1e-6
    )  # HF loss is fp32; all positions


def _model(vocab):
    return build("gpt2", layers=1, width=16, heads=2, vocab=vocab, context=32)


def test_resume_with_other_settings_warns(tmp_path, byte_tokenizer, capsys):
    blocks = torch.randint(0, len(byte_tokenizer), (6, 16), generator=torch.Generator().manual_seed(0))
    cfg = TrainConfig(steps=2, batch_size=2, block_size=16, warmup=1, checkpoint_every=2)
    train(_model(len(byte_tokenizer)), byte_tokenizer, blocks, tmp_path, cfg)
    capsys.readouterr()
    train(_model(len(byte_tokenizer)), byte_tokenizer, blocks, tmp_path, TrainConfig(**{**cfg.__dict__, "steps": 3}))
    assert (
        "warning: settings differ from the checkpoint's, the new ones apply from here: steps 2 -> 3"
        in capsys.readouterr().out
    )


def test_resume_continues_from_the_saved_step(tmp_path, byte_tokenizer):
    blocks = torch.randint(0, len(byte_tokenizer), (6, 16), generator=torch.Generator().manual_seed(0))
    cfg = TrainConfig(steps=4, batch_size=2, block_size=16, lr=1e-2, warmup=1, checkpoint_every=2)
    straight = _model(len(byte_tokenizer))
    train(straight, byte_tokenizer, blocks, tmp_path / "straight", cfg)
    train(
        _model(len(byte_tokenizer)),
        byte_tokenizer,
        blocks,
        tmp_path / "resumed",
        TrainConfig(**{**cfg.__dict__, "steps": 2}),
    )
    resumed = _model(len(byte_tokenizer))  # fresh weights: everything must come from the checkpoint
    train(resumed, byte_tokenizer, blocks, tmp_path / "resumed", cfg)
    state = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=False)
    assert state["step"] == 4 and [e["step"] for e in state["log"]] == [0, 1, 2, 3]
    assert any(e["dropout"] for e in state["log"]) and not all(e["dropout"] for e in state["log"])
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)
    assert not torch.equal(straight.state_dict()["lm_head.weight"], _model(len(byte_tokenizer)).lm_head.weight)


def test_compat_finetune_on_a_folder(tmp_path, byte_tokenizer):
    data = tmp_path / "src"
    (data / "pkg").mkdir(parents=True)
    (data / "a.py").write_text("def add(a, b):\n    return a + b\n" * 10)
    (data / "pkg" / "b.py").write_text("class Stack:\n    pass\n" * 10)
    (data / "notes.txt").write_text("not code")
    assert [p.name for p in source_files([data], "python")] == ["a.py", "b.py"]
    assert [p.name for p in source_files([data], suffixes=(".txt", ".py"))] == ["a.py", "notes.txt", "b.py"]
    lm = LoadedModel(
        model=_model(len(byte_tokenizer)),
        tokenizer=byte_tokenizer,
        name="t",
        device=torch.device("cpu"),
        dtype=torch.float32,
    )
    result = compat_finetune(lm, data, tmp_path / "out", TrainConfig(steps=2, batch_size=2, block_size=16))
    assert result["blocks"] >= 2 and (tmp_path / "out" / "config.json").exists()
    with pytest.raises(ValueError, match="exceeds the model's 32 positions"):
        compat_finetune(lm, data, tmp_path / "out", TrainConfig(block_size=64))
    with pytest.raises(ValueError, match="holds no .py files"):
        source_files([tmp_path / "out"], suffixes=(".py",))
    with pytest.raises(ValueError, match="nowhere does not exist"):
        source_files([tmp_path / "nowhere"], "python")


def test_cli_compat_finetune_resumes(saved_model, tmp_path):
    from click.testing import CliRunner

    from codeq.cli import main

    data = tmp_path / "src"
    data.mkdir()
    (data / "a.py").write_text("def add(a, b):\n    return a + b\n" * 20)
    args = [
        "compat-finetune",
        "-m",
        str(saved_model[0]),
        "--data",
        str(data),
        "--out",
        str(tmp_path / "out"),
        "--batch-size",
        "2",
        "--block-size",
        "16",
        "--checkpoint-every",
        "1",
    ]
    first = CliRunner().invoke(main, [*args, "--steps", "2"])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(main, [*args, "--steps", "3"])
    assert second.exit_code == 0 and "resuming from step 2" in second.output
    assert torch.load(tmp_path / "out" / "checkpoint.pt", weights_only=False)["step"] == 3
    missing = CliRunner().invoke(main, [*args, "--steps", "1", "--data", str(tmp_path / "none")])
    assert missing.exit_code != 0 and "does not exist" in missing.output and "Traceback" not in missing.output


def test_the_best_held_out_checkpoint_is_saved(tmp_path, byte_tokenizer):
    gen = torch.Generator().manual_seed(1)
    blocks = torch.randint(0, len(byte_tokenizer), (8, 16), generator=gen)
    held_out = torch.randint(0, len(byte_tokenizer), (4, 16), generator=gen)  # unrelated: overfitting shows
    cfg = TrainConfig(steps=12, batch_size=2, block_size=16, lr=3e-2, warmup=1, checkpoint_every=2)
    result = train(_model(len(byte_tokenizer)), byte_tokenizer, blocks, tmp_path, cfg, eval_blocks=held_out)
    curve = dict(result["heldout_curve"])
    assert sorted(curve) == [2, 4, 6, 8, 10, 12]
    assert abs(result["heldout_loss"] - min(curve.values())) < 1e-4
    assert curve[result["best_step"]] == round(result["heldout_loss"], 4)
    saved = GPT2LMHeadModel.from_pretrained(tmp_path)
    assert abs(evaluate_loss(saved, held_out, 2) - result["heldout_loss"]) < 1e-5


def test_learning_rate_follows_the_time_budget_when_it_runs_out_first():
    from codeq.training.loop import _lr

    cfg = TrainConfig(steps=1000, lr=1e-3, warmup=10, min_lr_ratio=0.1, max_minutes=2.0)
    assert _lr(5, cfg, elapsed=0.0) == pytest.approx(6e-4)  # warm-up goes by steps
    assert _lr(10, cfg, elapsed=0.0) == pytest.approx(1e-3)
    # half the time gone at 1% of the steps: the cosine is at its middle, 0.1 + 0.9 * 0.5 of the peak
    assert _lr(20, cfg, elapsed=60.0) == pytest.approx(1e-3 * 0.55)
    assert _lr(20, cfg, elapsed=120.0) == pytest.approx(1e-4)
    assert _lr(20, TrainConfig(**{**cfg.__dict__, "max_minutes": None}), elapsed=120.0) > 9.9e-4


def test_a_run_out_of_time_stops_evaluates_and_saves(tmp_path, byte_tokenizer):
    blocks = torch.randint(0, len(byte_tokenizer), (6, 16), generator=torch.Generator().manual_seed(0))
    cfg = TrainConfig(steps=50, batch_size=2, block_size=16, warmup=1, checkpoint_every=100, max_minutes=1e-9)
    result = train(_model(len(byte_tokenizer)), byte_tokenizer, blocks, tmp_path, cfg, eval_blocks=blocks[:2])
    assert result["steps_done"] == 1 and result["stopped_by_time"] is True
    assert result["best_step"] == 1 and (tmp_path / "model.safetensors").exists()


def test_weights_are_saved_in_the_asked_dtype_and_load_back_in_fp32(tmp_path, byte_tokenizer):
    from safetensors import safe_open

    from codeq.model.loading import load_model

    blocks = torch.randint(0, len(byte_tokenizer), (6, 16), generator=torch.Generator().manual_seed(0))
    model = _model(len(byte_tokenizer))
    train(model, byte_tokenizer, blocks, tmp_path, TrainConfig(steps=1, batch_size=2, block_size=16, save_dtype="bf16"))
    with safe_open(tmp_path / "model.safetensors", "pt") as f:
        stored = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not iterable)
    assert {t.dtype for t in stored.values()} == {torch.bfloat16}
    lm = load_model(str(tmp_path), device="cpu", dtype="fp32")
    loaded = lm.model.state_dict()
    assert {loaded[k].dtype for k in stored} == {torch.float32}
    for k, t in stored.items():
        assert torch.equal(loaded[k], t.float())  # exact: bf16 widens to fp32 without rounding
    with pytest.raises(ValueError, match="unknown save dtype 'int8'"):
        train(_model(len(byte_tokenizer)), byte_tokenizer, blocks, tmp_path / "x", TrainConfig(save_dtype="int8"))
