"""Writing an output file the way careful tools do.

:func:`open_output` decides, before anything is written, how a path is written:

- a regular file (or a path that does not exist yet) is written to a temporary file in the
  same folder, flushed to disk (fsync) and renamed over the target when complete, so a reader
  sees the old content or the new one, never half of it; an existing file keeps its mode (and
  its owner, where the user may give files away), a new one gets the usual mode for new files
  (0666 less the umask, as ``>`` in a shell);
- a symbolic link is followed: the file it points to is replaced that way, the link stays;
- anything else (a FIFO, a character device such as ``/dev/null``, a terminal, or a name of
  an open descriptor such as ``/dev/stdout`` and ``/dev/fd/N``) is opened and streamed
  directly, as ``>`` would: replacing it would cut off whoever reads it.

No terminal code and no stdout here; errors are :class:`~eventix_cli.core.errors.UsageError`
(checked before anything is sent) or :class:`~eventix_cli.core.errors.WriteFailed` (mid-write).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from eventix_cli.core.errors import UsageError, WriteFailed

#: Paths below these name open descriptors or devices: always streamed, never replaced.
_STREAM_PREFIXES = ("/dev/", "/proc/")


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """Where and how a file will be written: ``atomic`` (temp + rename) or streamed."""

    given: Path
    target: Path  # the file actually written (a symlink resolved)
    atomic: bool
    mode: int | None  # the mode to keep (existing regular file), else None
    owner: tuple[int, int] | None = None  # its uid and gid, kept where we may (as root)


def plan_output(name: str) -> OutputPlan:
    """Check the destination before any work is done; :class:`UsageError` when it cannot be written."""
    given = Path(name).expanduser()
    real = Path(os.path.realpath(given))
    try:
        info = given.stat()  # follows symlinks
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise UsageError(f"cannot write {given}: {exc.strerror}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{given} is a directory; give a file name")
    if info is not None and (not stat.S_ISREG(info.st_mode) or _names_a_descriptor(given)):
        return OutputPlan(given, given, atomic=False, mode=None)
    folder = real.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise UsageError(
            f"cannot write {given}: folder {folder} {what}",
            hint="create the folder first, or give another path",
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {given}: folder {folder} is not writable")
    if info is None:
        return OutputPlan(given, real, atomic=True, mode=None)
    return OutputPlan(
        given, real, atomic=True, mode=stat.S_IMODE(info.st_mode), owner=(info.st_uid, info.st_gid)
    )


def _names_a_descriptor(given: Path) -> bool:
    """Does ``given``, or a link on the way to its file, name a device or an open descriptor
    (``/dev/stdout`` is a link to ``/proc/self/fd/1``, which names whatever fd 1 is, even a
    regular file the shell opened: replacing that file would cut the shell's output off)?"""
    hop = os.path.abspath(given)
    for _ in range(40):
        if hop.startswith(_STREAM_PREFIXES):
            return True
        if not os.path.islink(hop):
            return False
        hop = os.path.abspath(os.path.join(os.path.dirname(hop), os.readlink(hop)))
    return False


@contextlib.contextmanager
def open_output(name: str, *, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """A text handle for ``name`` written as the module docstring says.

    The atomic rename happens only when the block ends without an exception; otherwise the
    temporary file is removed and the target is left as it was.
    """
    plan = plan_output(name)
    if not plan.atomic:
        try:
            handle = open(plan.target, "w", encoding=encoding)  # noqa: SIM115 - closed below
        except OSError as exc:
            raise UsageError(f"cannot write {plan.given}: {exc.strerror}") from None
        with _write_errors(plan.given), handle:
            yield handle
        return
    fd, tmp = _create_temp(plan)
    try:
        with _write_errors(plan.given):
            if plan.owner is not None and plan.owner != (os.geteuid(), os.getegid()):
                with contextlib.suppress(PermissionError):  # only root may give a file away
                    os.fchown(fd, *plan.owner)
            if plan.mode is not None:
                os.fchmod(fd, plan.mode)  # after chown, which may clear setuid/setgid bits
            with os.fdopen(fd, "w", encoding=encoding) as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, plan.target)
            _fsync_folder(plan.target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _create_temp(plan: OutputPlan) -> tuple[int, Path]:
    """A new file next to the target, created with 0666 so the umask applies as for any new file."""
    for _ in range(100):
        tmp = plan.target.with_name(f".{plan.target.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise UsageError(f"cannot write {plan.given}: {exc.strerror}") from None
    raise UsageError(f"cannot write {plan.given}: no free temporary name in {plan.target.parent}")


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _write_errors(given: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise WriteFailed(f"writing {given} failed: {exc.strerror or exc}") from None
