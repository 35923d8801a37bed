"""The overlay's (and admin page's) JavaScript unit tests, run with `node --test tests/js/`.

They test the pure view models (state → what to show) in overlay/view.js, the strings in
overlay/i18n.js and socket.js's backoff. Skipped, with the reason, where node is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

JS_TESTS = Path(__file__).parent / "js"
NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed: the JS view-model tests "
                    "(tests/js/) need it (apt-get install nodejs)")
def test_node_unit_tests_pass() -> None:
    assert NODE is not None
    assert any(JS_TESTS.glob("*.test.mjs")), "no JS tests found in tests/js/"
    run = subprocess.run([NODE, "--test", "tests/js/"], capture_output=True, text=True,
                         timeout=120, cwd=JS_TESTS.parent.parent, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout
