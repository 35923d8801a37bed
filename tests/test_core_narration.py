"""Sentence splitting for the reveal and the narration (pure, table-tested)."""

from __future__ import annotations

import pytest

from storyd.core.chapter_parse import sentences
from storyd.core.narration import split_sentences


@pytest.mark.parametrize(("text", "expected"), [
    ("One. Two! Three? Four…", ["One.", "Two!", "Three?", "Four…"]),
    # a closing quote stays with its sentence (it was lost: `…chapel. Renée`)
    ('She saw it in the drowned chapel." Renée ran.',
     ['She saw it in the drowned chapel."', "Renée ran."]),
    ("“Run!” he said. “Now.” Then silence.", ["“Run!” he said.", "“Now.”", "Then silence."]),
    # German quotes: „…“ opens a sentence (it was merged into the one before)
    ("Es wurde still. „Lauf!“, rief Ines. Dann rannte sie.",
     ["Es wurde still.", "„Lauf!“, rief Ines.", "Dann rannte sie."]),
    ("Er fragte: «Wer?» Niemand antwortete.", ["Er fragte: «Wer?»", "Niemand antwortete."]),
    # not a sentence end: lower case after the stop, or no space
    ("Dr. smith waited. 3.5 hours later, Ülkü came.", ["Dr. smith waited.",
                                                      "3.5 hours later, Ülkü came."]),
    ("", []),
    ("  no stop at all  ", ["no stop at all"]),
])
def test_split_sentences(text: str, expected: list[str]) -> None:
    parts = split_sentences(text)
    assert parts == expected
    assert " ".join(parts) == " ".join(text.split())   # never drops or changes text


def test_trimming_keeps_closing_quotes() -> None:
    text = 'He whispered, "Go." She went. "Why?" he asked.'
    assert sentences(text) == ['He whispered, "Go."', "She went.", '"Why?"', "he asked."]
    assert " ".join(sentences(text)) == text
