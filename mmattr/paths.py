"""Folders the package writes to (reports, retrained weights): checked before any work."""

from __future__ import annotations

import os
from pathlib import Path

#: The installed package: nothing is ever written inside it.
PACKAGE_DIR = Path(__file__).resolve().parent


def check_writable_folder(folder: str | Path, name: str = "out") -> Path:
    """``folder`` created if needed and returned; refused when it is an empty path, lies
    inside the installed package, cannot be created or is not writable.

    Args:
        folder: the folder to write to.
        name: the argument's name, for the error message (default ``"out"``).
    """
    if str(folder).strip() == "":
        raise ValueError(f"{name} is an empty path; expected a folder to write to")
    path = Path(folder).expanduser()
    resolved = path.resolve()
    if resolved == PACKAGE_DIR or PACKAGE_DIR in resolved.parents:
        raise ValueError(
            f"{name}={str(folder)!r} is inside the installed mmattr package ({PACKAGE_DIR}); "
            "expected a folder of your own (the shipped files are never overwritten)"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ValueError(f"{name}={str(folder)!r} cannot be created: {reason}") from None
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"{name}={str(folder)!r} is not a writable folder")
    return path
