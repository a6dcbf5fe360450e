"""Error types shared by the CLI, the HTTP routes and the core.

Every error the user can cause (bad input, a missing model, a refused path) is a
:class:`PumasError`.  The CLI prints ``str(error)`` on one line and exits 1; the
routes answer ``{"error": str(error), "code": error.code}`` with ``error.http_status``.
"""

from __future__ import annotations


class PumasError(Exception):
    """Base class of every handled failure.

    Attributes:
        code: a short machine-readable identifier (``snake_case``) used in JSON errors.
        http_status: the HTTP status the routes answer with.
    """

    code = "error"
    http_status = 500


class BadInputError(PumasError):
    """The input (a file, a path, a request body) is not acceptable."""

    code = "bad_input"
    http_status = 400


class UnsupportedFormatError(BadInputError):
    """The file is not a model format Pumas knows (identified by content, not by extension)."""

    code = "unsupported_format"
    http_status = 415


class CorruptFileError(BadInputError):
    """The file claims a known format but its header is damaged or truncated."""

    code = "corrupt_file"
    http_status = 422


class PickleNotAcceptedError(BadInputError):
    """A pickle-based file was offered without the explicit pickle acknowledgment."""

    code = "pickle_not_accepted"
    http_status = 403


class PathNotAllowedError(BadInputError):
    """A path lies outside the library, the registered installs and the import roots."""

    code = "path_not_allowed"
    http_status = 403


class NotFoundError(PumasError):
    """A model, an app, a job or a file does not exist."""

    code = "not_found"
    http_status = 404


class ConflictError(PumasError):
    """The operation would overwrite something that is not ours (for example a user's real file)."""

    code = "conflict"
    http_status = 409


class InsufficientSpaceError(PumasError):
    """The destination file system has too little free space for the operation."""

    code = "insufficient_space"
    http_status = 507


class LibraryUnavailableError(PumasError):
    """The library root is missing, unreadable or read-only."""

    code = "library_unavailable"
    http_status = 503


class RemoteUnavailableError(PumasError):
    """A remote host (HuggingFace, CivitAI) could not be reached or answered with an error."""

    code = "remote_unavailable"
    http_status = 503


class OperationCancelledError(PumasError):
    """The caller's cancel event was set while a copy, hash or upload was running."""

    code = "cancelled"
    http_status = 409


class LibraryOfflineError(LibraryUnavailableError):
    """A library that should be there is not: unplugged drive, empty mount point, unreachable share,
    or a missing parent folder.  Nothing about it may be changed until it is back.

    Attributes:
        path: the library root (``str``).
        reason: one short phrase (``"the library folder is missing"``...).
    """

    code = "library_offline"
    http_status = 503

    def __init__(self, path, reason: str = ""):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"library offline ({self.path} not mounted?)" + (f": {reason}" if reason else ""))


class NoLibraryError(LibraryUnavailableError):
    """No library exists at the path and the command may not create one (read-only commands, boot).

    Attributes:
        path: the library root (``str``).
    """

    code = "no_library"
    http_status = 503

    def __init__(self, path):
        self.path = str(path)
        super().__init__(f"no library at {self.path} (run `pumas init` or import to create one)")
