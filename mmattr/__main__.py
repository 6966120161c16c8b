"""``python -m mmattr ...`` (and ``torchrun -m mmattr run JOB.toml``): the ``mmattr`` command."""

import sys

from mmattr.cli import main

if __name__ == "__main__":
    sys.exit(main())
