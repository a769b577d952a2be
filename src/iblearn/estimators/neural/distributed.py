"""The collectives of neural estimators under ``torch.distributed``: :mod:`iblearn.distributed`, the
one module of them below every layer that uses them, under the name the estimators' guide gives."""

import sys

from iblearn import distributed

sys.modules[__name__] = distributed
