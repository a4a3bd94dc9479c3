"""`library`: the operator command of a deployed stack (status, manage, logs, psql, maintenance).

It reads the stack's outputs and talks to the stack's Docker engine the way the
provider does, so one command serves local and remote stacks (docs/operations.md).
"""

import sys
from pathlib import Path

#: The checkout this command runs from; it imports the program's modules from its infra/.
REPO = Path(__file__).resolve().parents[1]
if str(REPO / "infra") not in sys.path:
    sys.path.insert(0, str(REPO / "infra"))
