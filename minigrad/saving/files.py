"""Writing a file so that it appears whole or not at all.

Every saver in :mod:`minigrad.saving` writes through :func:`atomic_write`::

    with atomic_write("net.keras") as f:      # f: a binary file in the target's directory
        f.write(...)                          # raise here and nothing is left behind

The bytes go to a hidden temporary file beside the target
(``.net.keras.<pid>.<random>.minigrad-tmp``), which is flushed, synced and then renamed
over the target in one ``os.replace``: a reader sees the old file or the new one, never
half of one. If the writer raises (a refused model, a full disk, Ctrl-C), the temporary
file is removed. A process killed outright cannot clean up after itself, so every save
first removes the temporary files of its target left by processes that no longer run.

The finished file gets the permission bits an ordinary ``open(path, "w")`` would give:
those of the file it replaces, or ``0o666`` minus the process's umask for a new file
(a temporary file is created ``0o600``, which would otherwise stick).
"""
import contextlib
import os
import tempfile
import threading

__all__ = ["atomic_write", "stale_temporaries"]

SUFFIX = ".minigrad-tmp"
_umask_lock = threading.Lock()


def _prefix(filepath):
    return "." + os.path.basename(filepath) + "."


def _current_umask():
    try:                               # Linux tells without changing it
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:                  # elsewhere os.umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _pid_alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True                    # someone else's live process
    return True


def stale_temporaries(filepath):
    """Temporary files of ``filepath`` whose writing process is gone (full paths).

    Args:
        filepath (str or path): the target file.

    Returns:
        list of str
    """
    directory = os.path.dirname(os.path.abspath(filepath))
    prefix = _prefix(filepath)
    stale = []
    try:
        names = os.listdir(directory)
    except OSError:
        return stale
    for name in names:
        if not (name.startswith(prefix) and name.endswith(SUFFIX)):
            continue
        pid = name[len(prefix):-len(SUFFIX)].split(".")[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            stale.append(os.path.join(directory, name))
    return stale


def _remove_quietly(path):
    with contextlib.suppress(OSError):
        os.remove(path)


@contextlib.contextmanager
def atomic_write(filepath):
    """Context manager yielding a binary file whose content replaces ``filepath`` on
    success; on any exception the target is untouched and no temporary file remains.

    Args:
        filepath (str or path): the file to replace.

    Example:
        >>> import tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
        >>> with atomic_write(path) as f:
        ...     n = f.write(b"whole or nothing")
        >>> open(path, "rb").read()
        b'whole or nothing'
    """
    filepath = os.fspath(filepath)
    directory = os.path.dirname(os.path.abspath(filepath))
    for stale in stale_temporaries(filepath):
        _remove_quietly(stale)
    try:
        mode = os.stat(filepath).st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_current_umask()
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{_prefix(filepath)}{os.getpid()}.",
                               suffix=SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, filepath)
    except BaseException:
        _remove_quietly(tmp)
        raise
