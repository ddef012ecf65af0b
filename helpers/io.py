"""Atomic file writes: a crash never leaves a half-written file where a finished one is expected.
Files get the permissions any new file gets (``0666`` less the umask), and every JSON written is
valid JSON: a non-finite float (NaN, infinity) is written as ``null``, never as a ``NaN`` literal."""
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; a result is for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def finite_json(obj):
    """``obj`` with every non-finite float replaced by ``None`` (JSON has no NaN or infinity)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(v) for v in obj]
    return obj


def json_text(obj) -> str:
    """Strict JSON (``allow_nan=False``) of ``finite_json(obj)``: what every JSON file of the project holds."""
    return json.dumps(finite_json(obj), indent=2, sort_keys=True, allow_nan=False) + "\n"


def atomic_write_json(path, obj) -> None:
    atomic_write_text(path, json_text(obj))


def read_json(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def config_hash(config: dict) -> str:
    """Stable short hash of a JSON-serialisable config (key order does not matter)."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
