"""The recap of a finished story (issue 17.6): built from the chapters when no model helps,
read tolerantly from a model's answer, never empty."""

from __future__ import annotations

import json

from storyd.core.recap import (
    ENDING_KINDS,
    RecapChapter,
    RecapRequest,
    build_recap_messages,
    offline_recap,
    parse_recap,
    recap_from_json,
    recap_to_json,
)
from storyd.core.themes import THEMES

CHAPTERS = tuple(RecapChapter(number=i, title=f"Title {i}", summary=f"Ines did thing {i}.",
                              text=f"Ines did thing {i}. More.", chosen=f"choice {i}")
                 for i in range(1, 9))


def test_offline_recap_spreads_three_to_five_moments_over_the_story() -> None:
    recap = offline_recap("Salt", CHAPTERS, protagonist="Ines", want="find Tom")
    assert recap.moments[0] == "Ines did thing 1." and recap.moments[-1] == "Ines did thing 8."
    assert 3 <= len(recap.moments) <= 5 and recap.ending in ENDING_KINDS
    assert recap.logline.startswith("Ines set out to find Tom") and recap.chapters == 8
    german = offline_recap("Salz", CHAPTERS, protagonist="Ines", want="Tom finden",
                           german=True)
    assert "wollte Tom finden" in german.logline


def test_model_recap_is_read_and_completed() -> None:
    fallback = offline_recap("Salt", CHAPTERS)
    answer = "```json\n" + json.dumps({"logline": "Ines found Tom.",
                                       "moments": ["One.", "Two."], "ending": "Happy"}) + "```"
    recap = parse_recap(answer, fallback, source="model")
    assert recap.logline == "Ines found Tom." and recap.ending == "triumph"
    assert recap.moments[:2] == ("One.", "Two.") and len(recap.moments) >= 3
    assert recap.source == "model"
    junk = parse_recap("I cannot.", fallback, source="model")
    assert junk == fallback
    copied = parse_recap('{"logline": "One sentence: Who wanted what, and how it ended", '
                         '"moments": ["10 key moments"], "ending": "triumph|bittersweet"}',
                         fallback, source="model")
    assert copied == fallback                  # SmolLM2 copied the template: not a recap
    assert recap_from_json(recap_to_json(recap)) == recap and recap_from_json([]) is None


def test_recap_prompt_quotes_the_story_as_material() -> None:
    messages = build_recap_messages(RecapRequest(
        theme=THEMES["fantasy"], language="English", title="Salt", chapters=CHAPTERS,
        fallback=offline_recap("Salt", CHAPTERS)))
    user = messages[-1]["content"]
    assert "BEGIN STORY" in user and "Ines did thing 8." in user and "triumph|" in user


def test_a_recap_that_never_names_the_protagonist_is_another_storys() -> None:
    # a model's recap naming a different hero aired on the recap card as it was
    fallback = offline_recap("Salt", CHAPTERS, protagonist="Ines Varga", want="find Tom")
    other = json.dumps({"logline": "Elara saved the kingdom of Lyr.",
                        "moments": ["Elara met a dragon.", "The dragon sang.", "Peace."],
                        "ending": "triumph"})
    assert parse_recap(other, fallback, source="model", protagonist="Ines Varga") == fallback
    ours = json.dumps({"logline": "Varga found Tom in the end.", "moments": ["Ferry.", "Bell.",
                                                                           "Home."],
                       "ending": "bittersweet"})
    recap = parse_recap(ours, fallback, source="model", protagonist="Ines Varga")
    assert recap.logline == "Varga found Tom in the end." and recap.ending == "bittersweet"
    # in a moment is enough; and with no plan (an authored story) nothing is checked
    named_later = json.dumps({"logline": "A ferry, a bell, a brother.",
                              "moments": ["Ines took the ferry.", "The bell rang.", "Home."]})
    assert parse_recap(named_later, fallback, source="model",
                       protagonist="Ines Varga").source == "model"
    assert parse_recap(other, fallback, source="model").logline.startswith("Elara")
