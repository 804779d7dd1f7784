"""Load any Hugging Face causal LM (hub id, local folder, or the bundled ``codeq-tiny``)."""

from __future__ import annotations

import copy
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from contract.errors import UserError
from contract.study_definition import BUNDLED


class ModelLoadError(UserError):
    """A model could not be loaded; the message is one line meant for the user."""


class SequenceTooLongError(UserError):
    """A sequence does not fit the model's context; the message names both lengths."""


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
            twin = (
                AutoModelForCausalLM.from_pretrained(self.source, dtype=torch.float32)
                if self.source
                else copy.deepcopy(self.model).float()
            )
            self.fp32_model = twin.to(self.device).eval()
        return self.fp32_model

    @property
    def revision(self) -> str:
        return getattr(self.model.config, "_commit_hash", None) or "local"


def context_length(model) -> int | None:
    """Return the most positions ``model`` (a LoadedModel or a module) reads, or None if its config does not say."""
    model = model.model if isinstance(model, LoadedModel) else model
    config = getattr(model, "config", None)
    for key in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(config, key, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def check_length(model, length: int, what: str = "the sequence") -> None:
    """Raise :class:`SequenceTooLongError` when ``length`` tokens exceed the model's context.

    Without this check the model fails deep inside torch (``index out of range in self``).
    """
    limit = context_length(model)
    if limit is not None and length > limit:
        raise SequenceTooLongError(f"{what} is {length} tokens long but the model's context holds {limit} tokens")


# Programming languages a model card's metadata may name (``language``, ``programming_language``, ``tags``).
CARD_LANGUAGES = (
    "python",
    "java",
    "javascript",
    "typescript",
    "c",
    "c++",
    "c#",
    "go",
    "rust",
    "ruby",
    "php",
    "kotlin",
    "scala",
    "swift",
)


def model_languages(lm: LoadedModel) -> list[str]:
    """Return the programming languages the model's card (README.md metadata) names, sorted; [] if none."""
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.repocard import metadata_load

    source = str(getattr(lm.model.config, "_name_or_path", "") or "")
    card = Path(source) / "README.md"
    if not card.is_file():
        cached = try_to_load_from_cache(source, "README.md") if source and not Path(source).exists() else None
        if not isinstance(cached, str):
            return []
        card = Path(cached)
    meta = metadata_load(card) or {}
    named = []
    for key in ("language", "programming_language", "tags"):
        value = meta.get(key) or []
        named += [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)]
    return sorted({v.lower() for v in named} & set(CARD_LANGUAGES))


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
        return {
            "fp32": torch.float32,
            "float32": torch.float32,
            "bf16": torch.bfloat16,
            "bfloat16": torch.bfloat16,
            "fp16": torch.float16,
            "float16": torch.float16,
        }[dtype]
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
    check_hub(name)
    return name


def check_hub(name: str) -> None:
    """Fail at once for a hub id that is not cached when the hub cannot be reached.

    Otherwise the hub client retries for about 23 s before giving up with a long traceback.
    """
    from huggingface_hub import constants, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return
    offline = constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")
    where = f"{name!r} is not a local folder and not in the Hugging Face cache"
    if offline:
        raise ModelLoadError(f"{where}, and HF_HUB_OFFLINE is set")
    endpoint = urlsplit(os.environ.get("HF_ENDPOINT") or constants.ENDPOINT)
    try:
        socket.create_connection(
            (endpoint.hostname, endpoint.port or (443 if endpoint.scheme == "https" else 80)), timeout=3
        ).close()
    except OSError as err:
        raise ModelLoadError(
            f"{where}, and the hub ({endpoint.geturl()}) cannot be reached ({err.strerror or type(err).__name__})"
        ) from None


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
        raise ModelLoadError(
            f"cannot load {name_or_path!r}: not found locally and not downloadable ({str(err).splitlines()[0]})"
        ) from None


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
        raise ModelLoadError(
            f"{name_or_path!r} is a {config.model_type} model, not a causal language model "
            "(AutoModelForCausalLM cannot load it)"
        ) from None
    except OSError as err:
        raise ModelLoadError(f"cannot load weights of {name_or_path!r}: {str(err).splitlines()[0]}") from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as err:
        raise ModelLoadError(f"cannot load the tokenizer of {name_or_path!r}: {str(err).splitlines()[0]}") from None
    model.to(dev).eval()
    return LoadedModel(model=model, tokenizer=tokenizer, name=str(name_or_path), device=dev, dtype=dt, source=source)
