"""``python -m iblearn.cli``: the ``iblearn`` command."""

import sys

from iblearn.cli import main

sys.exit(main())
