"""Pictures and speech for OpenAI-compatible services: `MediaClient`, the half of
`OpenAICompatProvider` (openai_compat.py, which has the theory of operation) that asks for
an image (`POST /images/generations`, then a bounded download of a linked picture) or for
speech (`POST /audio/speech`), and probes the configured voices."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from storyd.core.model import ImageRequest, ImageResult, SpeechRequest, SpeechResult
from storyd.errors import ProviderError
from storyd.providers import http_io
from storyd.providers.http_io import RequestTimeout, TooLarge, Usage
from storyd.providers.openai_base import ClientBase, sniff_image
from storyd.providers.presets import DALLE3_IMAGE_SIZES, nearest_size

MAX_REDIRECTS = 5


class MediaClient(ClientBase):
    """Images and speech on top of the HTTP client base; chat is in OpenAICompatProvider."""

    # ------------------------------------------------------------ images
    async def illustrate(self, request: ImageRequest) -> ImageResult:
        model = self.image_model
        if not model:
            raise self._fail(f"no image model — set [providers.{self.name}] image_model")
        prompt = f"{request.prompt}. {request.theme.image_style}"[:1500]
        body: dict[str, Any] = {"model": model, "prompt": prompt}
        if self.preset.image_api == "siliconflow":
            body["image_size"] = nearest_size(request.width, request.height,
                                              self.preset.image_sizes)
            body["batch_size"] = 1
            if request.seed:
                body["seed"] = request.seed % 4_294_967_295
        else:
            sizes = DALLE3_IMAGE_SIZES if "dall-e-3" in model else self.preset.image_sizes
            body.update(n=1, size=nearest_size(request.width, request.height, sizes))
            if "dall-e" in model:
                body["response_format"] = "b64_json"

        async def once() -> ImageResult:
            self._record(Usage(1))
            # b64 pictures arrive inside the JSON: allow for the 4/3 growth of base64
            raw_answer, _ = await self._send("POST", "/images/generations", body,
                                             cap=self.limits.max_image * 4 // 3 + 64 * 1024,
                                             patient=True)
            try:
                data = json.loads(raw_answer)
            except ValueError:
                raise self._fail("image answer is not JSON", retryable=True) from None
            items = (data.get("images") or data.get("data") or []) if isinstance(
                data, dict) else []
            first = items[0] if items and isinstance(items[0], dict) else {}
            if first.get("b64_json"):
                try:
                    raw, ctype = base64.b64decode(first["b64_json"]), ""
                except ValueError:
                    raise self._fail("image answer holds broken base64", output=True) from None
            elif isinstance(first.get("url"), str):
                raw, ctype = await self._download(first["url"])
            else:
                raise self._fail("answer holds no image (no url or b64_json)", output=True)
            return ImageResult(data=raw, content_type=sniff_image(raw, ctype or "image/png"),
                               provider=self.name)

        return await self._retrying(f"provider '{self.name}' image", once)

    async def _download(self, url: str) -> tuple[bytes, str]:
        """A picture from the link the provider named: bounded, redirects checked (same host
        unless the provider is local, never storyd's own port), no API headers."""
        try:
            first = current = httpx.URL(url)
        except (httpx.InvalidURL, TypeError):
            raise self._fail("image URL is not a URL", output=True) from None
        refused = http_io.download_allowed(first, own_port=self.own_port)
        if refused:
            raise self._fail(refused, output=True)
        try:
            with http_io.deadlines(self.limits) as gap:
                for _ in range(MAX_REDIRECTS + 1):
                    async with self._http().stream("GET", current) as resp:
                        if resp.is_redirect and "location" in resp.headers:
                            target = current.join(resp.headers["location"])
                            refused = http_io.redirect_allowed(
                                first, target, local=self.local, own_port=self.own_port)
                            if refused:
                                raise self._fail(f"image download refused: {refused}",
                                                 output=True)
                            current = target
                            continue
                        if resp.status_code != 200:
                            raise self._fail(f"image download failed: HTTP {resp.status_code} "
                                             "(the link may have expired)", retryable=True)
                        data = await http_io.read_capped(resp, self.limits.max_image, gap)
                        if not data:
                            raise self._fail("image download was empty", retryable=True)
                        return data, resp.headers.get("content-type", "")
                raise self._fail(f"image download: more than {MAX_REDIRECTS} redirects",
                                 output=True)
        except TooLarge as exc:
            raise self._too_large(exc, "the picture") from None
        except RequestTimeout as exc:
            raise self._timeout_error(exc) from None
        except httpx.HTTPError as exc:
            raise self._fail(f"image download failed ({type(exc).__name__})",
                             retryable=True) from None
        raise AssertionError("unreachable")   # pragma: no cover

    # ------------------------------------------------------------ speech
    def voice_for(self, role: str) -> str:
        voices, defaults = self.cfg.voices, self.preset.voices
        voice = (voices.get(role) or defaults.get(role) or voices.get("narrator")
                 or defaults.get("narrator") or "alloy")
        if self.preset.voice_prefix_model and ":" not in voice:
            voice = f"{self.speech_model}:{voice}"
        return voice

    async def _speak_once(self, text: str, voice: str) -> SpeechResult:
        body: dict[str, Any] = {"model": self.speech_model, "input": text[:4096],
                                "voice": voice, "response_format": "mp3"}
        if self.preset.sample_rate:
            body["sample_rate"] = self.preset.sample_rate
        self._record(Usage(1))
        data, headers = await self._send("POST", "/audio/speech", body,
                                         cap=self.limits.max_audio)
        declared = headers.get("content-type", "")
        if not data or "json" in declared:
            raise self._fail("speech answer holds no audio", output=True)
        ctype = http_io.sniff_audio(data, declared)
        if ctype is None:
            shown = declared or "no Content-Type"
            raise self._fail(f"speech answer is not audio storyd can serve ({shown})",
                             output=True)
        return SpeechResult(data=data, content_type=ctype, provider=self.name)

    async def speak(self, request: SpeechRequest) -> SpeechResult | None:
        if not self.speech_model:
            raise self._fail(f"no speech model — set [providers.{self.name}] speech_model")
        voice = self.voice_for(request.role)
        return await self._retrying(f"provider '{self.name}' speech",
                                    lambda: self._speak_once(request.text, voice))

    async def _probe_voices(self, result: dict[str, Any]) -> None:
        roles = ["narrator", *sorted(r for r in self.cfg.voices if r != "narrator")]
        voices = list(dict.fromkeys(self.voice_for(r) for r in roles))[:4]
        for voice in voices:
            try:
                await self._speak_once("Hi.", voice)
            except ProviderError as exc:
                result.update(ok=False, diagnosis="bad voice",
                              message=f"speech with voice {voice!r} failed: {exc}")
                return
        result["voices"] = voices
