"""Known OpenAI-compatible services: base URLs, default models and what each supports.

A `[providers.NAME]` section names a preset; its own keys override the preset's defaults.
Facts behind these values: REFERENCE.md §2.
"""

from __future__ import annotations

from typing import Literal

import msgspec

JsonMode = Literal["json_schema", "json_object_schema", "json_object", "none"]

# SiliconFlow FLUX.1-schnell accepts only these sizes; the nearest one by aspect ratio is used.
SILICONFLOW_IMAGE_SIZES: tuple[str, ...] = (
    "1024x1024", "512x1024", "768x512", "768x1024", "1024x576", "576x1024")
OPENAI_IMAGE_SIZES: tuple[str, ...] = ("1024x1024", "1536x1024", "1024x1536")
DALLE3_IMAGE_SIZES: tuple[str, ...] = ("1024x1024", "1792x1024", "1024x1792")

_SF_VOICES = {"narrator": "benjamin", "hero": "alex", "heroine": "bella", "villain": "david",
              "sidekick": "charles", "elder": "claire", "female": "anna", "male": "alex"}
_OPENAI_VOICES = {"narrator": "fable", "hero": "onyx", "heroine": "nova", "villain": "ash",
                  "sidekick": "echo", "elder": "sage", "female": "shimmer", "male": "onyx"}


class Preset(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    base_url: str = ""
    text_model: str = ""
    image_model: str = ""
    speech_model: str = ""
    images: bool = True              # has POST /images/generations
    speech: bool = True              # has POST /audio/speech
    json_mode: JsonMode = "json_schema"   # what "auto" means (nested json_schema form)
    token_param: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    image_api: Literal["siliconflow", "openai"] = "openai"
    image_sizes: tuple[str, ...] = OPENAI_IMAGE_SIZES
    voice_prefix_model: bool = False  # SiliconFlow wants voice "MODEL:NAME"
    sample_rate: int | None = None    # sent explicitly when set
    voices: dict[str, str] = {}
    needs_key: bool = True


def _siliconflow(name: str, base_url: str) -> Preset:
    # DeepSeek-V3 is documented as not honouring json_object either, but it is harmless
    # and other models there use it; json_schema is not reliably enforced on SiliconFlow.
    return Preset(name=name, base_url=base_url, text_model="deepseek-ai/DeepSeek-V3",
                  image_model="black-forest-labs/FLUX.1-schnell",
                  speech_model="FunAudioLLM/CosyVoice2-0.5B", json_mode="json_object",
                  image_api="siliconflow", image_sizes=SILICONFLOW_IMAGE_SIZES,
                  voice_prefix_model=True, sample_rate=44100, voices=_SF_VOICES)


PRESETS: dict[str, Preset] = {
    "siliconflow": _siliconflow("siliconflow", "https://api.siliconflow.com/v1"),
    "siliconflow-cn": _siliconflow("siliconflow-cn", "https://api.siliconflow.cn/v1"),
    "openai": Preset(name="openai", base_url="https://api.openai.com/v1",
                     text_model="gpt-4o-mini", image_model="gpt-image-1",
                     speech_model="gpt-4o-mini-tts", token_param="max_completion_tokens",
                     voices=_OPENAI_VOICES),
    "ollama": Preset(name="ollama", base_url="http://localhost:11434/v1",
                     text_model="llama3.1:8b", images=False, speech=False, needs_key=False),
    "llamacpp": Preset(name="llamacpp", base_url="http://127.0.0.1:8080/v1",
                       text_model="default", images=False, speech=False, needs_key=False),
    "vllm": Preset(name="vllm", base_url="http://localhost:8000/v1", images=False,
                   speech=False, needs_key=False),
    "custom": Preset(name="custom", needs_key=False),
}


def preset_for(name: str) -> Preset:
    """The preset called `name`; unknown names get the permissive "custom" preset."""
    return PRESETS.get(name, PRESETS["custom"])


def nearest_size(width: int, height: int, sizes: tuple[str, ...]) -> str:
    """The supported "WxH" size closest in aspect ratio (then in area) to width x height."""
    want = width / max(height, 1)

    def score(size: str) -> tuple[float, float]:
        w, h = (int(x) for x in size.split("x"))
        return (abs(w / h - want), abs(w * h - width * height))

    return min(sizes, key=score)
