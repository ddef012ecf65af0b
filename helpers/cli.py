"""How every command refuses: one line on stderr that names the parameter or file and what is
allowed, exit status 2, no traceback. Output paths are checked when the arguments are parsed, so a
bad ``--out`` fails before the work, not after it."""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

from .errors import Refused


class Parser(argparse.ArgumentParser):
    """``argparse`` whose errors are one line (``prog: error: ...``) with exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")

    def run(self, work, *args, **kwargs):
        """``work(*args, **kwargs)``; an anticipated failure (``errors.Refused``) becomes one line, exit 2."""
        try:
            return work(*args, **kwargs)
        except Refused as err:
            self.error(str(err))


def _writable_folder(folder: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _existing_folder(path: Path, text: str, what: str) -> Path:
    """The nearest existing ancestor of ``path`` (itself included), which must be a folder."""
    while not path.exists() and path != path.parent:
        path = path.parent
    if not path.is_dir():
        raise Refused(f"{what}: cannot create {text}: {path} is a file, not a folder")
    return path


def check_output_file(path, what: str = "--out") -> Path:
    """``path`` if a file can be written there (parent folders are created later); else ``Refused``
    naming ``what``: ``-``, an existing folder, a parent that is a file, a folder we cannot write."""
    text = str(path)
    if text in ("", "-"):
        raise Refused(f"{what}: {text!r} is not supported (no writing to standard output); give a file path")
    path = Path(text)
    if path.is_dir():
        raise Refused(f"{what}: {text} is a folder; give a file path inside it")
    ancestor = _existing_folder(path.parent, text, what)
    if not _writable_folder(ancestor) or (path.exists() and not os.access(path, os.W_OK)):
        raise Refused(f"{what}: cannot write {text} (no write permission)")
    return path


def output_file(what: str = "--out"):
    """An ``argparse`` ``type=`` that applies ``check_output_file`` while the arguments are parsed."""
    def parse(text: str) -> Path:
        try:
            return check_output_file(text, what)
        except Refused as err:
            raise argparse.ArgumentTypeError(str(err).split(": ", 1)[1]) from None
    return parse


def check_output_folder(path, what: str) -> Path:
    """``path`` if it is (or can become) a writable folder; else ``Refused`` naming ``what``."""
    text = str(path)
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise Refused(f"{what}: {text} is a file, not a folder")
    ancestor = _existing_folder(path, text, what)
    if not _writable_folder(ancestor):
        raise Refused(f"{what}: cannot write in {text} (no write permission)")
    return path


def seconds(text: str) -> float:
    """An ``argparse`` ``type=`` for a time limit: a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def whole(low: int):
    """An ``argparse`` ``type=`` for an integer >= ``low``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {text!r}")
        return value
    return parse


def say(message: str) -> None:
    """One line on stderr (a notice that is not an error, e.g. corrupt state set aside)."""
    print(message, file=sys.stderr, flush=True)
