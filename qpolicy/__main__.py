import sys

from qpolicy.cli import main

sys.exit(main())
