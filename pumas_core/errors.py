"""Error types shared by the CLI, the HTTP routes and the core.

Every error the user can cause (bad input, a missing model, a refused path) is a
:class:`PumasError`.  The CLI prints ``str(error)`` on one line and exits 1; the
routes answer ``{"error": str(error), "code": error.code}`` with ``error.http_status``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class PumasError(Exception):
    """Base class of every handled failure.

    Attributes:
        code: a short machine-readable identifier (``snake_case``) used in JSON errors.
        http_status: the HTTP status the routes answer with.
    """

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500

    def __init_subclass__(cls, *, code: str | None = None, http_status: int | None = None, **kwargs: Any) -> None:
        """``class XError(PumasError, code="x", http_status=400)`` sets the subclass's :attr:`code` and
        :attr:`http_status` (inherited when not given)."""
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if http_status is not None:
            cls.http_status = http_status

    def __init__(self, message: str = "", *, path: object = None) -> None:
        """``message`` is the one line shown to the user; ``path`` (any path-like) the file or folder the
        error is about, kept as ``str`` in :attr:`path` (``None`` when the error is not about a path)."""
        super().__init__(message)
        self.path: str | None = None if path is None else str(path)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class BadInputError(PumasError, ValueError, code="bad_input", http_status=400):
    """The input (a file, a path, a request body) is not acceptable.  Also a :class:`ValueError`."""


class UnsupportedFormatError(BadInputError, code="unsupported_format", http_status=415):
    """The file is not a model format Pumas knows (identified by content, not by extension)."""


class CorruptFileError(BadInputError, code="corrupt_file", http_status=422):
    """The file claims a known format but its header is damaged or truncated."""


class CorruptHeaderError(CorruptFileError, code="corrupt_header", http_status=422):
    """A model file's header (safetensors JSON, GGUF key/value and tensor tables, ONNX, zip directory)
    is damaged, truncated, or breaks its format's rules; raised by content sniffing."""


class PickleNotAcceptedError(BadInputError, code="pickle_not_accepted", http_status=403):
    """A pickle-based file was offered without the explicit pickle acknowledgment."""


class UnsafePickleError(BadInputError, code="unsafe_pickle", http_status=422):
    """A pickle imports globals outside the state-dict allow-list (or cannot be checked); refused
    even with the pickle acknowledgment.  The message names the offending globals."""


class PathNotAllowedError(BadInputError, code="path_not_allowed", http_status=403):
    """A path lies outside the library, the registered installs and the import roots."""


class UploadTooSlowError(BadInputError, code="upload_too_slow", http_status=408):
    """An upload's body arrived slower than the server's rate floor (or stalled) and was dropped."""


class NotFoundError(PumasError, LookupError, code="not_found", http_status=404):
    """A model, an app, a job or a file does not exist.  Also a :class:`LookupError`."""


class FileMissingError(NotFoundError, FileNotFoundError, code="not_found", http_status=404):
    """A file or folder the operation needs is not there.  Also a :class:`FileNotFoundError`;
    :attr:`path` (and ``filename``) name it."""

    def __init__(self, message: str = "", *, path: object = None) -> None:
        super().__init__(message, path=path)
        self.filename = self.path


class SchemaTooNewError(PumasError, code="schema_too_new", http_status=409):
    """A state file (``registry.db``, ``models.db``, ``metadata.json``) was written by a newer Pumas;
    it is left untouched.  Upgrade Pumas to use it."""


class WriteFailedError(PumasError, OSError, code="write_failed", http_status=500):
    """Writing to the library or an install failed for a reason other than free space (permissions,
    I/O error, read-only remount).  Also an :class:`OSError`; :attr:`path` names the file."""

    def __init__(self, message: str = "", *, path: object = None) -> None:
        PumasError.__init__(self, message, path=path)


class ConflictError(PumasError, code="conflict", http_status=409):
    """The operation would overwrite something that is not ours (for example a user's real file)."""


class InsufficientSpaceError(PumasError, code="insufficient_space", http_status=507):
    """The destination file system has too little free space for the operation."""


class LibraryUnavailableError(PumasError, code="library_unavailable", http_status=503):
    """The library root is missing, unreadable or read-only."""


class RemoteUnavailableError(PumasError, code="remote_unavailable", http_status=503):
    """A remote host (HuggingFace, CivitAI) could not be reached or answered with an error."""


class OperationCancelledError(PumasError, code="cancelled", http_status=409):
    """The caller's cancel event was set while a copy, hash or upload was running."""


class LibraryOfflineError(LibraryUnavailableError, code="library_offline", http_status=503):
    """A library that should be there is not: unplugged drive, empty mount point, unreachable share,
    or a missing parent folder.  Nothing about it may be changed until it is back.

    Attributes:
        path: the library root (``str``).
        reason: one short phrase (``"the library folder is missing"``...).
    """

    def __init__(self, path: object, reason: str = "") -> None:
        self.reason = reason
        super().__init__(f"library offline ({path} not mounted?)" + (f": {reason}" if reason else ""), path=path)


class NoLibraryError(LibraryUnavailableError, code="no_library", http_status=503):
    """No library exists at the path and the command may not create one (read-only commands, boot).

    Attributes:
        path: the library root (``str``).
    """

    def __init__(self, path: object) -> None:
        super().__init__(f"no library at {path} (run `pumas init` or import to create one)", path=path)
