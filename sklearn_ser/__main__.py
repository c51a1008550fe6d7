"""``python -m sklearn_ser``: the same as the ``sklearn-ser`` command."""

import sys

from sklearn_ser.cli import main

if __name__ == "__main__":
    sys.exit(main())
