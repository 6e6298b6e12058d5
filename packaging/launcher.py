"""The frozen app's entry point: the same ``main`` as the ``diffusion-studio`` console script."""

import multiprocessing
import sys

from studio.__main__ import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen child process must not start a second studio
    sys.exit(main())
