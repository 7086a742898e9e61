"""``python -m gateway.cli``: the ``igw`` command."""

import sys

from gateway.cli.main import main

sys.exit(main())
