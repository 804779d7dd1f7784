"""``DIR/manifest.json``: the settings a run folder was started with; other settings are refused.

Rows from different models or target rules must never mix in one folder, so a restart with a
changed ``--model``, ``--dtype`` or target rule stops with one line naming what changed. The engine,
worker count and device are not settings of the result (they give identical rows) and may change
between restarts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import codeq
from contract.corpus_run import MANIFEST
from contract.errors import UserError
from contract.study_definition import TargetRules


@dataclass(frozen=True)
class RunSettings:
    """What decides a run's rows. ``rules.language`` is the default for items that name none.

    ``completion``: the model completes each item's code and targets come from the completion (as
    in ``codeq prepare``); without it, targets are tokens of the code itself that the model predicts.
    """

    model: str
    dtype: str
    rules: TargetRules
    completion: bool = True

    def to_dict(self) -> dict:
        """Return the settings as one flat JSON-able dict (target rules beside the model)."""
        rules = asdict(self.rules)
        rules["categories"] = list(rules["categories"]) if rules["categories"] is not None else None
        return {
            "model": self.model,
            "model_files": model_fingerprint(self.model),
            "dtype": self.dtype,
            "completion": self.completion,
            **rules,
        }


def model_fingerprint(model: str) -> str | None:
    """Hash a local model folder's config and file sizes (so retrained weights count as a change).

    None for a hub id: its revision is recorded per row instead.
    """
    from codeq.model.loading import ModelLoadError, resolve_source

    try:
        source = Path(resolve_source(model))
    except ModelLoadError:
        return None
    if not source.is_dir():
        return None
    digest = hashlib.sha256((source / "config.json").read_bytes())
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(source)}:{path.stat().st_size}\n".encode())
    return digest.hexdigest()[:20]


def check_manifest(out: Path, settings: RunSettings) -> None:
    """Write ``out/manifest.json`` for a new run, or check that it matches ``settings``.

    Raises UserError (a ValueError, one line) when ``out`` holds rows of a run with other settings or is some
    other folder. A manifest without any shard yet (a run that failed before its first item) is
    replaced, so a mistyped option can be corrected.
    """
    out = Path(out)
    path = out / MANIFEST
    wanted = settings.to_dict()
    if path.exists():
        recorded = json.loads(path.read_text(encoding="utf-8"))["settings"]
        changed = [key for key in wanted if recorded.get(key) != wanted[key]]
        if changed and _holds_shards(out):
            detail = "; ".join(f"{key} was {recorded.get(key)!r}, now {wanted[key]!r}" for key in changed)
            raise UserError(
                f"{out} holds a run with other settings ({detail}): "
                "rerun with the same settings or choose another --out"
            )
        if not changed:
            return
    elif out.exists() and any(not p.name.startswith(".") for p in out.iterdir()):
        raise UserError(f"{out} is not empty and holds no {MANIFEST}: choose a new or empty --out")
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{MANIFEST}.tmp"
    tmp.write_text(
        json.dumps({"settings": wanted, "codeq_version": codeq.__version__}, indent=2, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    tmp.replace(path)


def _holds_shards(out: Path) -> bool:
    from contract.corpus_run import SCHEMAS

    return any(any((out / table).glob("part-*.parquet")) for table in SCHEMAS)
