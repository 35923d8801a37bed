"""Types reach the edges (issue 21.4): the snapshot's providers, chat and overlay are Structs,
the JSON they encode to keeps the field names the pages, storyctl and scripts read, and the
OpenAPI document refers to those types (control replies: tests/test_control_replies.py)."""

from __future__ import annotations

import msgspec

from storyd.chat.base import ChatHealth
from storyd.config.structs import Config, OverlayConfig, StoryConfig
from storyd.core.ports import IngestResult
from storyd.core.snapshot import OverlayView, ProviderHealth, ProvidersView, Snapshot
from storyd.providers.outcome import Health
from storyd.services.story_state import build_snapshot
from storyd.web.openapi import build_document

CHAT_FIELDS = {"source", "state", "detail", "room", "retry_at_ms", "connected_since_ms",
               "last_event_at_ms", "messages", "votes_accepted", "votes_invalid", "gifts",
               "reconnects", "failures", "dropped", "moderation", "rate", "counters"}
PROVIDER_FIELDS = {"ok", "last_error", "failures", "cooling_down", "cooldown_until_ms",
                   "cooldown_reason", "last_latency_ms", "used_because", "stepped_in", "calls",
                   "prompt_tokens", "completion_tokens", "tokens_estimated"}


def test_the_overlay_view_is_the_overlay_config_plus_the_reveal() -> None:
    """Same keys, same defaults: a key added to [overlay] must be added to the view (the
    snapshot refuses unknown keys, so a forgotten one fails every daemon test)."""
    config, view = msgspec.to_builtins(OverlayConfig()), msgspec.to_builtins(OverlayView())
    story = StoryConfig()
    assert view == {**config, "reveal": story.reveal,
                    "reveal_words_per_second": story.reveal_words_per_second}
    cfg = Config(overlay=OverlayConfig(style="storybook", font_size=50, recap_seconds=0),
                 story=StoryConfig(reveal="full", reveal_words_per_second=0))
    snap = build_snapshot(cfg, None, state="idle", revision=1, now_ms=5, voting=None,
                          notice=None, generating=None, narration=None,
                          providers=ProvidersView(), chat=(), costs=())
    assert (snap.overlay.style, snap.overlay.font_size, snap.overlay.recap_seconds,
            snap.overlay.reveal, snap.overlay.reveal_words_per_second) == (
        "storybook", 50, 0, "full", 0)


def test_chat_and_provider_health_keep_their_wire_names() -> None:
    h = ChatHealth(source="twitch", state="backing_off", retry_at=1_700_000_005.5, room="#c")
    h.count(IngestResult(2, 1, 0), 3, now=1_700_000_000.0)
    health = Health(ok=False, failures=2, last_error="HTTP 500", last_latency=0.25)
    snap = Snapshot(state="idle", revision=1, server_time_ms=1,
                    chat=(h.view(now=1_700_000_001.0),),
                    providers=ProvidersView(text={"sf": health.view(10.0, 1e12)}))
    wire = msgspec.json.decode(msgspec.json.encode(snap))
    (chat,) = wire["chat"]
    assert set(chat) == CHAT_FIELDS
    assert chat["retry_at_ms"] == 1_700_000_005_500 and chat["state"] == "backing_off"
    assert set(wire["providers"]) == {"text", "images", "speech"}
    assert set(wire["providers"]["text"]["sf"]) == PROVIDER_FIELDS
    assert wire["providers"]["text"]["sf"]["last_latency_ms"] == 250
    # and what goes out decodes strictly into the same types
    back = msgspec.json.decode(msgspec.json.encode(snap), type=Snapshot, strict=True)
    assert back == snap and isinstance(back.providers.text["sf"], ProviderHealth)


def test_the_openapi_document_names_the_types_not_free_form_objects() -> None:
    schemas = build_document("test")["components"]["schemas"]
    snap = schemas["Snapshot"]["properties"]
    assert snap["providers"]["$ref"].endswith("/ProvidersView")
    assert snap["chat"]["items"]["$ref"].endswith("/ChatSourceView")
    assert snap["overlay"]["$ref"].endswith("/OverlayView")
    assert set(schemas["ProviderHealth"]["properties"]) == PROVIDER_FIELDS
    assert set(schemas["ChatSourceView"]["properties"]) == CHAT_FIELDS
    # one error body everywhere: HTTP errors, command results
    assert schemas["ErrorReply"]["properties"]["error"]["$ref"].endswith("/ErrorBody")
    result = schemas["CommandResultData"]["properties"]
    assert result["error"]["anyOf"][0]["$ref"].endswith("/ErrorBody")
    assert result["result"]["anyOf"][0]["$ref"].endswith("/CloseReply")
