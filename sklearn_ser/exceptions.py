"""Every error and warning sklearn_ser raises, in one module."""

__all__ = [
    "AudioFileError",
    "AudioFileWarning",
    "CacheMissError",
    "DatasetWarning",
    "EncoderNotInstalledError",
    "FileNameError",
    "ManualDownloadError",
    "ModelFileError",
    "ModelVersionWarning",
    "SkippedFilesWarning",
    "SpeakerAdaptationWarning",
    "UnsafeArchiveError",
    "UsageError",
    "WeightFileError",
]


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


class WeightFileError(ValueError):
    """A pretrained weight file cannot be used: unreadable, not plain tensors, or wrong shapes.

    Raised, for example, when a weight file's pickle names any global other than
    the tensor-rebuild functions (it is refused before anything runs).
    """


class AudioFileWarning(UserWarning):
    """An audio file was used, but something about it is suspect (e.g. truncated)."""


class SpeakerAdaptationWarning(UserWarning):
    """Speaker adaptation fell back to training statistics (no or too few speaker clips)."""


class DatasetWarning(UserWarning):
    """Warning about the content of a corpus folder (duplicates, odd layout)."""


class SkippedFilesWarning(DatasetWarning):
    """Warning listing audio files a loader skipped, with the reason for each.

    Raised instead of silently dropping or guessing a label for a file whose
    name does not fit the corpus' naming scheme (or that is empty). Pass ``strict=True`` to a
    loader to turn it into a :class:`ValueError`.
    """


class FileNameError(ValueError):
    """Raised by a corpus parser when a file name does not fit its scheme."""


class ManualDownloadError(OSError):
    """Raised by a fetcher when the corpus cannot be downloaded automatically.

    The message says where to get the corpus and how to load it.
    """


class UnsafeArchiveError(ValueError):
    """An archive holds a member that would land outside the folder it is unpacked into.

    Absolute paths, ``..`` components, links (symbolic or hard) and device
    files are refused before anything is written; the message names the
    archive and the member.
    """


class ModelVersionWarning(UserWarning):
    """A saved model was made with other versions of its dependencies.

    The model usually still works, but a different scikit-learn, Keras or
    librosa can change the features or fail to read the pickled objects.
    Retrain, or install the versions named in the warning, to be sure.
    """


class ModelFileError(ValueError):
    """A file or folder is not a (readable) sklearn_ser model."""


class EncoderNotInstalledError(ImportError):
    """The pretrained encoder's weight file is not installed.

    The message says what to install: ``pip install --no-deps resemblyzer==0.1.4``.
    """


class UsageError(Exception):
    """A bad command-line argument found after parsing (``sklearn-ser`` exits with 2)."""


class CacheMissError(LookupError):
    """A feature cache was asked for an entry it does not hold (recomputed by the caller)."""
