"""``python -m ecgdigitizer`` is ``ecg-digitize``."""

import sys

from .cli import main

sys.exit(main())
