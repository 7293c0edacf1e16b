"""The project's modules import each other without cycles (scripts/import_cycles.py)."""

import subprocess
import sys

from tests.conftest import REPO

# The command line and the service still reach each other: the service checks a job's options against the
# Typer app. Declaring the options once, on the config dataclasses, removes it; until then only it is allowed.
ALLOWED = "import cycle: agents.cli <-> cli <-> forge.cli <-> forge.service <-> sandbox.cli <-> trainer.cli"


def test_no_module_imports_one_that_imports_it_back():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "import_cycles.py")], capture_output=True, text=True)
    cycles = [line for line in result.stdout.splitlines() if line.startswith("import cycle:")]
    assert cycles in ([], [ALLOWED]), result.stdout
