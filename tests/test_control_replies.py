"""Every control-socket reply is a Struct of its request's answer type (issue 21.4).

The real daemon (tests/conftest.py `daemon_factory`) plays a story while a raw socket client
sends every request of the protocol; each reply line is decoded strictly as an
`Answer[answer_type(request)]`, a `Refusal` or, while watching, an `EventLine`, and encoding
the decoded Struct again must give back the very JSON the daemon sent: the types lose no
field and rename none.
"""

from __future__ import annotations

import typing
from typing import Any

import msgspec
import trio

from storyd.control import protocol as p
from tests.conftest import wait_for_event

TIMEOUT = 60


def test_every_request_has_an_answer_type() -> None:
    requests = set(typing.get_args(p.Request))
    assert set(p.ANSWERS) == requests
    answers = {p.ANSWERS[r] for r in requests if p.ANSWERS[r] is not None}
    assert answers <= set(typing.get_args(p.Result)), answers - set(typing.get_args(p.Result))


class Socket:
    """A raw line client: sends Envelopes, returns each reply line decoded strictly."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream, self.buf, self.ids, self.seen = stream, b"", 0, set[type]()

    async def line(self) -> bytes:
        while b"\n" not in self.buf:
            chunk = await self.stream.receive_some(1 << 20)
            assert chunk, "storyd closed the connection"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    async def ask(self, request: p.Request) -> Any:
        self.ids += 1
        await self.stream.send_all(p.encode(p.Envelope(id=self.ids, request=request)))
        raw = await self.line()
        if b'"ok":false' in raw:
            refusal = msgspec.json.decode(raw, type=p.Refusal, strict=True)
            raise AssertionError(f"{request} refused: {refusal.error}")
        kind = p.Answer[p.answer_type(request)]
        answer = msgspec.json.decode(raw, type=kind, strict=True)
        assert answer.id == self.ids
        assert msgspec.json.decode(p.encode(answer)) == msgspec.json.decode(raw), request
        self.seen.add(type(request))
        return answer.result


async def test_real_daemon_answers_every_request_in_its_type(daemon_factory: Any) -> None:
    with trio.fail_after(TIMEOUT):
        d = await daemon_factory(voting={"duration": 120}, images={"enabled": True},
                                 audience={"cameos": True})
        s = Socket(await trio.open_unix_socket(str(d.socket_path)))
        for request in (p.Status(), p.Themes(), p.Stories(), p.Memory(), p.Providers(),
                        p.ConfigShow(), p.ConfigShow(origins=True), p.AdminUrl(),
                        p.ConfigGet(key="voting"), p.ConfigGet(key="voting.duration"),
                        p.ConfigSet(key="voting.min_votes", value="3"),
                        p.ConfigUpdate(changes={"voting.swing": "4"})):
            await s.ask(request)
        with d.bus.subscribe() as sub:
            sid = (await s.ask(p.Start(theme="horror", seed=5))).session_id
            await wait_for_event(sub, "story:state", lambda e: e["state"] == "voting", TIMEOUT)
            await s.ask(p.Plan())
            await s.ask(p.Extend(chapters=12))
            assert (await s.ask(p.Vote(viewer="amy", choice="b"))).accepted
            await s.ask(p.Chat(messages=[p.ChatLine(platform="yt", user_id="1", text="!a"),
                                         p.ChatLine(platform="yt", user_id="2", name="Ann",
                                                    text="!join")]))
            assert [c.name for c in await s.ask(p.Cameos())] == ["Ann"]
            assert (await s.ask(p.CameoRemove(name="Ann"))).removed == ("Ann",)
            await s.ask(p.RegenerateImage())
            await s.ask(p.Close())
            await wait_for_event(sub, "story:state", lambda e: e["state"] == "voting"
                                 and e["chapter_number"] == 2, TIMEOUT)
            await s.ask(p.Next(choice="a"))
            await s.ask(p.Finish())
            await s.ask(p.End())
        for request in (p.Sessions(), p.Session(id=sid), p.TopVoters(),
                        p.Export(id=sid, format="json"), p.Export(id=sid, format="md"),
                        p.Chapters(id=sid), p.Recap(id=sid), p.RecapPng(id=sid)):
            await s.ask(request)
        await s.ask(p.Start(theme="fantasy", seed=6))   # the first story is history now
        await s.ask(p.End())
        assert (await s.ask(p.DeleteSession(id=sid))).deleted == sid
        # watch: its Answer, then EventLines whose events are the one event schema's
        await s.stream.send_all(p.encode(p.Envelope(id=99, request=p.Watch())))
        first = msgspec.json.decode(await s.line(), type=p.Answer[None], strict=True)
        assert first.id == 99
        line = await s.line()
        event = msgspec.json.decode(line, type=p.EventLine, strict=True)
        assert event.id == 99 and msgspec.json.decode(p.encode(event)) == msgspec.json.decode(
            line)
        s.seen.add(p.Watch)
        assert s.seen == set(p.ANSWERS), set(p.ANSWERS) - s.seen
        await s.stream.aclose()


async def test_a_refusal_is_one_shape_everywhere(daemon_factory: Any) -> None:
    with trio.fail_after(TIMEOUT):
        d = await daemon_factory()
        s = Socket(await trio.open_unix_socket(str(d.socket_path)))
        await s.stream.send_all(p.encode(p.Envelope(id=1, request=p.Close())))
        raw = await s.line()
        refusal = msgspec.json.decode(raw, type=p.Refusal, strict=True)
        assert (refusal.id, refusal.ok, refusal.error.code) == (1, False, "refused")
        assert msgspec.json.decode(raw) == {"v": 1, "id": 1, "ok": False, "error": {
            "code": "refused", "message": refusal.error.message}}
        await s.stream.aclose()
