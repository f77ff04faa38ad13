import sys

from deploy.cluster.cli import main

sys.exit(main())
