"""``python -m iblearn``: the ``iblearn`` command (:mod:`iblearn.cli`)."""

import sys

from iblearn.cli import main

sys.exit(main())
