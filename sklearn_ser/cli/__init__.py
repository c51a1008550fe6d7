"""The ``sklearn-ser`` command line (also ``python -m sklearn_ser``).

Subcommands: ``demo``, ``train``, ``evaluate``, ``predict``, ``fetch`` and
``datasets``; ``sklearn-ser COMMAND --help`` describes each.

Exit status: 0 on success, 2 for a usage error (bad or missing arguments),
1 for any other failure (bad audio files, missing model, failed download).
Errors are one ``sklearn-ser: error: ...`` line on stderr (a list of bad
audio files takes one line per file); ``--debug`` shows the traceback.
Predictions go to stdout, progress and notes to stderr.

The package is a thin shell: :mod:`._parser` (argparse only), :mod:`._commands`
and :mod:`._demo` (each command calls public library functions) and
:mod:`._output` (what is printed). Quieting TensorFlow's start-up logs is done
here, for the command line's own process only; importing the library changes
nothing global.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Sequence

from sklearn_ser.cli._commands import expand_inputs
from sklearn_ser.cli._output import error, format_table, warnings_as_lines
from sklearn_ser.cli._parser import PROG, build_parser

__all__ = ["PROG", "build_parser", "expand_inputs", "format_table", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sklearn-ser`` with ``argv`` (default: ``sys.argv[1:]``).

    Parameters
    ----------
    argv : sequence of str, default=None
        Command line arguments without the program name.

    Returns
    -------
    int
        Exit status: 0 success, 1 failure, 2 usage error.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return int(exc.code or 0)
    from sklearn_ser.cli._commands import COMMANDS
    from sklearn_ser.cli._quiet import quiet_tensorflow_logs
    from sklearn_ser.exceptions import AudioFileError, UsageError

    quiet_tensorflow_logs()
    try:
        with warnings_as_lines(args.debug):
            return int(COMMANDS[args.command](args) or 0)
    except UsageError as exc:
        if args.debug:
            traceback.print_exc()
        error(str(exc))
        return 2
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `sklearn-ser predict ... | head`): not an error.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # silence the flush at exit
        return 0
    except AudioFileError as exc:
        if args.debug:
            traceback.print_exc()
        error(str(exc))
        return 1
    except Exception as exc:  # noqa: BLE001 - the CLI's contract: one line, no traceback
        if args.debug:
            traceback.print_exc()
        message = str(exc).strip() or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in message:
            message = f"{message}: {exc.filename}"
        error(message)
        return 1
