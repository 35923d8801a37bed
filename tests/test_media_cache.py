"""The media cache: content-hash names, safe lookups, expiry that spares referenced files."""

import os

import pytest

from storyd.services.media import MediaCache, media_url


async def test_same_bytes_same_name_and_safe_lookup(tmp_path):
    cache = MediaCache(tmp_path / "media", max_bytes=10_000)
    a = await cache.put(b"<svg/>", "image/svg+xml")
    b = await cache.put(b"<svg/>", "image/svg+xml")
    assert a == b and a.endswith(".svg") and cache.path_for(a) == tmp_path / "media" / a
    assert media_url(a) == f"/api/interactive-story/image/{a}"
    assert media_url("x.mp3") == "/api/interactive-story/audio/x.mp3"
    for bad in ("../etc/passwd", "/etc/passwd", "a/b.png", ".hidden.png", "x.exe", ""):
        assert cache.path_for(bad) is None
    with pytest.raises(ValueError, match="unsupported media type"):
        await cache.put(b"x", "application/x-sh")


async def test_expiry_deletes_oldest_unreferenced_only(tmp_path):
    cache = MediaCache(tmp_path / "media", max_bytes=2_500)
    names = []
    for i in range(4):
        name = await cache.put(bytes([i]) * 1000, "image/png")
        os.utime(cache.directory / name, (1_000 + i, 1_000 + i))  # oldest first
        names.append(name)
    removed = await cache.expire(keep={names[0]})   # the oldest is still used by a session
    assert removed == 2
    assert [cache.path_for(n) is not None for n in names] == [True, False, False, True]
    assert await cache.expire(keep=set()) == 0       # under budget now: nothing more goes
