"""Errors and warnings raised by sklearn_ser."""


class AudioFileError(ValueError):
    """An audio file cannot be used: missing, unreadable, empty, silent, too short or NaN.

    The message names every offending file and its problem, so one run reports
    all bad inputs at once.

    Attributes
    ----------
    problems : dict of str to str
        Maps each offending path to a one-line description of its problem.
    """

    def __init__(self, problems: dict[str, str]):
        self.problems = dict(problems)
        lines = [f"  {path}: {why}" for path, why in self.problems.items()]
        n = len(self.problems)
        head = f"{n} audio file{'s' if n != 1 else ''} cannot be used:"
        super().__init__("\n".join([head, *lines]))


class DataFolderWarning(UserWarning):
    """A corpus folder holds files that were skipped (unknown names, other modalities)."""
