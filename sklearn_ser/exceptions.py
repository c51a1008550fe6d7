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


class WeightFileError(ValueError):
    """A pretrained weight file cannot be used: unreadable, not plain tensors, or wrong shapes.

    Raised, for example, when a weight file's pickle names any global other than
    the tensor-rebuild functions (it is refused before anything runs).
    """


class AudioFileWarning(UserWarning):
    """An audio file was used, but something about it is suspect (e.g. truncated)."""


class SpeakerAdaptationWarning(UserWarning):
    """Speaker adaptation fell back to training statistics (no or too few speaker clips)."""
