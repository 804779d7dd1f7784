"""Pseudonymous participant ids: a keyed hash, stable across exports, not reversible without the key."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "p_"
DIGEST_CHARS = 16  # 64 bits: collisions stay negligible for any realistic number of participants


def export_key(config: dict) -> bytes:
    """Return the key for pseudonyms: ``EXPORT_KEY`` if set, else the app's ``SECRET_KEY``.

    A separate ``EXPORT_KEY`` lets a deployment rotate its session secret without changing the
    pseudonyms already published in earlier exports.
    """
    key = config.get("EXPORT_KEY") or config.get("SECRET_KEY")
    if not key:
        raise ValueError("set EXPORT_KEY or SECRET_KEY before exporting: pseudonyms need a key")
    return key.encode() if isinstance(key, str) else bytes(key)


def pseudonym(raw_id: str, key: bytes) -> str:
    """Return the pseudonym of ``raw_id`` (the participant's public id) under ``key``."""
    digest = hmac.new(key, raw_id.encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:DIGEST_CHARS]
