"""The project's modules import each other without cycles (scripts/import_cycles.py): the command line sits
on top of the cycle, the service on top of both, and nothing below imports them back."""

import subprocess
import sys

from tests.conftest import REPO


def test_no_module_imports_one_that_imports_it_back():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "import_cycles.py")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().endswith("0 cycles"), result.stdout
