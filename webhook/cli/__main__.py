"""``python -m webhook.cli``: the same as the ``netpol-guard`` console script."""

import sys

from webhook.cli.main import main

sys.exit(main())
