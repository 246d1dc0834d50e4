import sys

from ic.cli import main

sys.exit(main())
