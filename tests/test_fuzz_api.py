"""Issue 11: a bounded schemathesis run over the OpenAPI document against the real daemon.

The daemon runs in-process (storyd.app.run_daemon on temporary folders, port 0); the
schemathesis CLI runs as a child process with the admin token, a fixed seed and a bounded
number of examples per operation. No response may be a 5xx, every response must match
the document (status codes, content types, schemas), and a request the document refuses must
be refused (issue 22: a whitespace-only body, an empty config key, a number too large for an
id); `storyd.web.openapi` is the document.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import trio
from web_harness import running_daemon

pytestmark = pytest.mark.slow

ST = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,unsupported_method,negative_data_rejection")
# A body the schema refuses must be refused: 413 counts as a refusal too (a chat batch over
# 10,000 messages, documented in the OpenAPI document), beside schemathesis's own list.
CONFIG = """[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422",
                     "428", "429"]
"""
BUDGET_S = 110


@pytest.mark.skipif(ST is None, reason="schemathesis is not installed (pip install .[test])")
async def test_schemathesis_finds_no_5xx_and_no_schema_mismatch(tmp_path: Path) -> None:
    assert ST is not None
    async with running_daemon(tmp_path) as daemon:
        url = f"{daemon.web_url}/api/interactive-story/openapi.json"
        (tmp_path / "schemathesis.toml").write_text(CONFIG)
        cmd = [ST, "--config-file", str(tmp_path / "schemathesis.toml"), "run", url, "--header", f"Authorization: Bearer {daemon.admin_token}",
               "--checks", CHECKS, "--max-examples", "12", "--seed", "11",
               "--phases", "examples,coverage,fuzzing", "--workers", "1", "--no-shrink",
               "--generation-database", "none", "--request-timeout", "10",
               "--exclude-path-regex", "/(image|audio)/", "--no-color",
               "--output-sanitize", "true"]
        with trio.fail_after(BUDGET_S):
            result = await trio.run_process(cmd, capture_stdout=True, capture_stderr=True,
                                            check=False, cwd=str(tmp_path))
        out = result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
        assert daemon.admin_token not in out
        assert result.returncode == 0, out[-6000:]
