"""The exceptions tldr raises. The CLI turns each into one line and an exit code, never a traceback."""


class TldrError(Exception):
    """A failure the user can act on; exit status 1."""

    exit_code = 1


class InputError(TldrError):
    """Bad input: a file, row, option or configuration that breaks its contract; exit status 2."""

    exit_code = 2


class SchemaError(InputError):
    """A Parquet/JSON input lacks columns or has the wrong types for its data contract."""


class ConfigError(InputError):
    """Settings that cannot work together (degenerate references, NaN, bad ranges)."""


class OutputExistsError(InputError):
    """The output already exists and holds different work; the user must choose to replace it."""


class UnknownBackendError(InputError):
    """A generation backend name that is not in the registry."""


class MissingDependencyError(TldrError):
    """An optional engine is not installed; the message names the extra that provides it."""


class BackendError(TldrError):
    """A generation engine or server failed at run time."""


class HubError(TldrError):
    """Pushing to the Hugging Face Hub failed."""


class StageError(TldrError):
    """A stage run as a child process (training, a generation part) failed; the message names its log."""
