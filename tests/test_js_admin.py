"""The admin page's JavaScript view models (admin/view.js), run with `node --test`.

Skipped, with the reason, where node is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed: the admin view-model tests "
                    "(tests/js/admin_*.test.mjs) need it (apt-get install nodejs)")
def test_admin_view_models() -> None:
    assert NODE is not None
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "js").glob("admin_*.test.mjs"))
    assert files, "no admin JS tests found in tests/js/"
    run = subprocess.run([NODE, "--test", *files], capture_output=True, text=True, timeout=120,
                         cwd=ROOT, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout
