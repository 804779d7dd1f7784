"""Load any Hugging Face causal LM (hub id, local folder, or the bundled ``codeq-tiny``)."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

BUNDLED = {"codeq-tiny": Path(__file__).parent / "models" / "codeq-tiny"}


class ModelLoadError(Exception):
    """A model could not be loaded; the message is one line meant for the user."""


@dataclass
class LoadedModel:
    """A causal LM in eval mode with its tokenizer and where it lives."""
    model: torch.nn.Module
    tokenizer: object
    name: str
    device: torch.device
    dtype: torch.dtype
    source: str | None = None  # the checkpoint (folder or hub id) the weights were read from
    fp32_model: torch.nn.Module | None = field(default=None, repr=False, compare=False)

    def fp32_twin(self) -> torch.nn.Module:
        """The same checkpoint in fp32 on the same device, made on first use and kept.

        ``model`` itself when it is fp32; otherwise ``fp32_model``, read from ``source`` in fp32 (the
        checkpoint's own weights, not the rounded ones) or, without a source, an fp32 copy of ``model``.
        Exact rationalization of a bf16/fp16 model re-scores near-ties with it.
        """
        if self.dtype == torch.float32:
            return self.model
        if self.fp32_model is None:
            twin = (AutoModelForCausalLM.from_pretrained(self.source, dtype=torch.float32) if self.source
                    else copy.deepcopy(self.model).float())
            self.fp32_model = twin.to(self.device).eval()
        return self.fp32_model

    @property
    def revision(self) -> str:
        return getattr(self.model.config, "_commit_hash", None) or "local"


def resolve_device(device: str = "auto") -> torch.device:
    """Map ``"auto"`` to CUDA when present, else CPU; check that a named device exists."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ModelLoadError(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError(f"device {device!r} requested but CUDA is not available here: use cpu")
    return dev


def resolve_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """Map ``"auto"`` to bf16 (fp16 without bf16 support) on CUDA and fp32 on CPU; parse a dtype name."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    try:
        return {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16,
                "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16}[dtype]
    except KeyError:
        raise ModelLoadError(f"unknown dtype {dtype!r}: use auto, fp32, bf16 or fp16") from None


def resolve_source(name_or_path: str | os.PathLike) -> str:
    """Map a bundled name to its folder; check that a path-looking argument exists."""
    name = str(name_or_path)
    if name in BUNDLED:
        folder = BUNDLED[name]
        if not (folder / "config.json").exists():
            raise ModelLoadError(f"bundled model {name!r} is missing from {folder}: run `codeq train-tiny`")
        return str(folder)
    looks_local = name.startswith((".", "/", "~")) or os.sep in name and not _looks_like_hub_id(name)
    if looks_local or Path(name).exists():
        path = Path(name).expanduser()
        if not path.exists():
            raise ModelLoadError(f"model path {path} does not exist")
        if not (path / "config.json").exists():
            raise ModelLoadError(f"{path} has no config.json: not a Hugging Face model folder")
        return str(path)
    return name


def _looks_like_hub_id(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not Path(name).exists()


def model_config(name_or_path: str | os.PathLike):
    """Return the model's Hugging Face config (cheap: no weights), or raise :class:`ModelLoadError`.

    Lets a caller that loads the model elsewhere (e.g. in Ray workers) report a missing model at once.
    """
    try:
        return AutoConfig.from_pretrained(resolve_source(name_or_path))
    except OSError as err:
        raise ModelLoadError(f"cannot load {name_or_path!r}: not found locally and not downloadable "
                             f"({str(err).splitlines()[0]})") from None


def load_model(name_or_path: str | os.PathLike, device: str = "auto", dtype: str | torch.dtype = "auto") -> LoadedModel:
    """Load a causal LM and its tokenizer, in eval mode, on ``device`` with ``dtype``.

    ``"auto"`` picks CUDA with bf16 (fp16 where bf16 is unsupported) when present, CPU fp32 otherwise.
    Raises :class:`ModelLoadError` with a one-line message for a missing path, a model that is not a
    causal LM, or a hub id that cannot be fetched (e.g. offline).
    """
    source = resolve_source(name_or_path)
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    config = model_config(name_or_path)
    try:
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dt)
    except ValueError:
        raise ModelLoadError(f"{name_or_path!r} is a {config.model_type} model, not a causal language model "
                             "(AutoModelForCausalLM cannot load it)") from None
    except OSError as err:
        raise ModelLoadError(f"cannot load weights of {name_or_path!r}: {str(err).splitlines()[0]}") from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as err:
        raise ModelLoadError(f"cannot load the tokenizer of {name_or_path!r}: {str(err).splitlines()[0]}") from None
    model.to(dev).eval()
    return LoadedModel(model=model, tokenizer=tokenizer, name=str(name_or_path), device=dev, dtype=dt, source=source)
