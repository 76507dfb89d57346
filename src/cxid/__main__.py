"""``python -m cxid`` runs the command line."""

import sys

from cxid.cli import main

sys.exit(main())
