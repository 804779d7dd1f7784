"""load_model: a local folder loads in eval mode; every user mistake is one ModelLoadError line."""

import pytest
import torch
from transformers import T5Config

from codeq.model import loading
from codeq.model.loading import ModelLoadError, load_model


def test_loads_local_folder_on_cpu_fp32(saved_model):
    path, original = saved_model
    lm = load_model(str(path), device="cpu")
    assert lm.device == torch.device("cpu") and lm.dtype == torch.float32
    assert not lm.model.training
    assert lm.revision == "local"
    ids = torch.tensor([[1, 2, 3]])
    with torch.inference_mode():
        assert torch.equal(lm.model(input_ids=ids).logits, original.eval()(input_ids=ids).logits)
    assert lm.tokenizer.decode(lm.tokenizer("def f():")["input_ids"]) == "def f():"


def test_dtype_names(saved_model):
    assert load_model(saved_model[0], device="cpu", dtype="bf16").model.dtype == torch.bfloat16


def _error(*args, **kwargs) -> str:
    with pytest.raises(ModelLoadError) as info:
        load_model(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_path(tmp_path):
    assert "does not exist" in _error(str(tmp_path / "nothing"))


def test_folder_without_config(tmp_path):
    assert "no config.json" in _error(str(tmp_path))


def test_not_a_causal_model(tmp_path):
    T5Config(d_model=16, num_layers=1, num_heads=2, d_ff=32, vocab_size=50).save_pretrained(tmp_path / "t5")
    assert "t5 model, not a causal language model" in _error(str(tmp_path / "t5"))


def test_hub_id_while_offline(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    assert _error("nobody-here/no-such-model") == (
        "'nobody-here/no-such-model' is not a local folder and not in the Hugging Face cache, and HF_HUB_OFFLINE is set"
    )


def test_hub_id_when_the_hub_cannot_be_reached(monkeypatch):
    # port 9 (discard) on this machine refuses at once: the error must come from the probe, not from retries
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    assert _error("nobody-here/no-such-model") == (
        "'nobody-here/no-such-model' is not a local folder and not in the Hugging Face cache, and the hub "
        "(http://127.0.0.1:9) cannot be reached (Connection refused)"
    )


def test_bundled_model_not_trained_yet(monkeypatch, tmp_path):
    monkeypatch.setitem(loading.BUNDLED, "codeq-tiny", tmp_path)
    assert "codeq train-tiny" in _error("codeq-tiny")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dtype": "int3"}, "unknown dtype 'int3'"),
        ({"device": "gpu7"}, "unknown device 'gpu7'"),
    ],
)
def test_bad_device_or_dtype(saved_model, kwargs, message):
    assert message in _error(saved_model[0], **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda(saved_model):
    assert "CUDA is not available" in _error(saved_model[0], device="cuda")
