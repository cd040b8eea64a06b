#!/usr/bin/env python
"""Start the orchestrator_kit HTTP API server (same as ``orchestrator-kit serve``).

python scripts/run_api_server.py                 # 127.0.0.1:8000, a token printed at start
python scripts/run_api_server.py --no-auth       # the guide's curl commands, loopback only
python scripts/run_api_server.py --help
"""

import sys

from orchestrator_kit.server.main import main

if __name__ == "__main__":
    sys.exit(main(prog="run_api_server.py"))
