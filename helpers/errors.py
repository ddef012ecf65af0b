"""The failures a user can cause and a command reports in one line (``helpers.cli``): each names the
parameter or file and what is allowed. Anything else is a bug and keeps its traceback."""
from __future__ import annotations


class Refused(ValueError):
    """An anticipated failure: bad input, a missing or corrupt file, a run that cannot go on."""


class RunStateError(Refused):
    """A run folder whose saved state (checkpoint, progress file) cannot be read."""


class DivergedError(Refused):
    """Training produced a non-finite loss; the run is stopped and never cached as finished."""


class BaseMismatchError(Refused):
    """The base model on disk is not the one a run config records (its checksum differs)."""


class MissingFileError(Refused, FileNotFoundError):
    """A file or folder a command needs does not exist."""
