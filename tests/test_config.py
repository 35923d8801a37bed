"""Config: defaults, the shipped file, errors with file/line/key and did-you-mean, edits."""

import re
import stat
from pathlib import Path

import pytest

from storyd.config import loader as config
from storyd.config.masking import MASK
from storyd.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_config_file_spells_out_exactly_the_defaults():
    assert config.load(ROOT / "config" / "storyd.toml") == config.defaults()


def test_shipped_config_documents_every_key():
    text = (ROOT / "config" / "storyd.toml").read_text()
    data = config.to_builtins(config.defaults())
    for section, values in data.items():
        if section == "providers":
            continue
        assert f"[{section}]" in text
        for key, value in values.items():
            if isinstance(value, dict) and key in ("tiktok", "twitch"):
                assert f"[{section}.{key}]" in text
                for sub in value:
                    assert f"\n{sub} =" in text, f"chat.{key}.{sub} undocumented"
            else:
                assert f"\n{key} =" in text, f"{section}.{key} undocumented"


def test_missing_file_means_defaults(tmp_path):
    assert config.load(tmp_path / "nope.toml") == config.defaults()


@pytest.mark.parametrize(("text", "expected"), [
    ("[voting]\ndurtion = 30\n", r"f\.toml:2: unknown key 'durtion' in \[voting\]; did you mean 'duration'\?"),
    ("[votng]\nduration = 30\n", r"unknown key 'votng' in top level; did you mean 'voting'\?"),
    ("[voting]\nduration = 5\n", r"f\.toml:2: voting\.duration = 5 is out of range \(15–300\)"),
    ("[voting]\nduration = \"x\"\n", r"f\.toml:2: voting\.duration: Expected `int`, got `str`"),
    ("[story]\nchoices = 9\n", r"story\.choices = 9 is out of range \(3–6\)"),
    ("[story]\nnext_story_seconds = -5\n", r"story\.next_story_seconds = -5\.0 is out of range \(0–3600\)"),
    ("[story]\ntheme = \"fantsy\"\n", r"did you mean 'fantasy'\?"),
    ("[voting]\ntie_break = \"coin\"\n", r"voting\.tie_break: Invalid enum value .coin.; one of random, first, extend"),
    ("[llm]\nchain = [\"sf\"]\n", r"llm\.chain names unknown provider 'sf'; add a \[providers\.sf\] section"),
    ("[server\nport = 1\n", r"f\.toml:1: TOML syntax error"),
    ("[providers.sf]\napi_kye = \"x\"\n", r"unknown key 'api_kye'.*did you mean 'api_key'\?"),
    ("[chat.tiktok]\nroom_id = \"72x\"\n", r"chat\.tiktok\.room_id = '72x' must be digits"),
    ("[chat.tiktok]\nroom_id = 7200\n", r"chat\.tiktok\.room_id: Expected `str`, got `int`"),
    ("[chat.tiktok]\nlive_poll_seconds = 1\n", r"chat\.tiktok\.live_poll_seconds = 1\.0 is out of range \(5–3600\)"),
    ("[chat]\nsources = [\"twich\"]\n", r"chat\.sources\[0\]: Invalid enum value 'twich'"),
    ("[chat.twitch]\nchannel = \"#Chan\"\n", r"chat\.twitch\.channel = '#Chan' must be a "
     r"Twitch login"),
    ("[chat.twitch]\nurl = \"https://x\"\n", r"chat\.twitch\.url = 'https://x' must start"),
    ("[chat.twitch]\noauth_token_env = \"TOK\"\n", r"oauth_token_env needs chat\.twitch\.login"),
    ("[chat.twitch]\nchanel = \"x\"\n", r"unknown key 'chanel' in \[chat\.twitch\]; did you mean"),
])
def test_errors_name_file_line_key_and_hint(text, expected):
    with pytest.raises(ConfigError, match=expected):
        config.parse(text, "f.toml")


def test_secrets_are_masked_everywhere():
    cfg = config.parse('[providers.sf]\npreset = "siliconflow"\napi_key = "sk-secret-123"\n'
                       '[chat.tiktok]\nsign_api_key = "euler-secret"\n')
    dumped = config.dump_toml(cfg)
    assert "sk-secret-123" not in dumped and "euler-secret" not in dumped
    assert MASK in dumped
    assert config.get_value(cfg, "providers.sf.api_key") == MASK
    assert "sk-secret" not in str(config.get_value(cfg, "providers"))


def test_set_value_keeps_comments_validates_and_replaces_atomically(tmp_path):
    path = tmp_path / "storyd.toml"
    path.write_text("# my show\n[voting]\nduration = 60  # a minute\n")
    cfg = config.set_value(path, "voting.duration", "90")
    assert cfg.voting.duration == 90
    text = path.read_text()
    assert "# my show" in text and "# a minute" in text and "duration = 90" in text
    config.set_value(path, "story.theme", "horror")
    assert config.load(path).story.theme == "horror"
    config.set_value(path, "voting.early_close", "yes")
    assert config.load(path).voting.early_close is True
    config.set_value(path, "safety.blocklist", '["foo", "bar"]')
    assert config.load(path).safety.blocklist == ("foo", "bar")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.parametrize(("key", "value", "message"), [
    ("voting.duration", "5", "out of range"),
    ("voting.duration", "soon", "expected a whole number"),
    ("voting.durtion", "30", "did you mean 'voting.duration'"),
    ("voting.early_close", "maybe", "expected true or false"),
    ("voting", "3", "is a section"),
])
def test_set_value_refuses_bad_edits_and_leaves_the_file(tmp_path, key, value, message):
    path = tmp_path / "storyd.toml"
    original = "[voting]\nduration = 60\n"
    path.write_text(original)
    with pytest.raises(ConfigError, match=message):
        config.set_value(path, key, value)
    assert path.read_text() == original
    assert [p.name for p in tmp_path.iterdir()] == ["storyd.toml"]


def test_set_values_applies_related_keys_together(tmp_path):
    path = tmp_path / "storyd.toml"
    path.write_text("# providers below\n")
    with pytest.raises(ConfigError, match='preset "custom" needs a base_url'):
        config.set_value(path, "providers.local.text_model", "qwen")
    assert path.read_text() == "# providers below\n"
    cfg = config.set_values(path, {"providers.local.text_model": "qwen",
                                   "providers.local.base_url": "http://127.0.0.1:8000/v1",
                                   "providers.local.voices": '{ narrator = "anna" }',
                                   "llm.chain": '["local", "offline"]'})
    assert cfg.providers["local"].voices == {"narrator": "anna"}
    assert cfg.llm.chain == ("local", "offline")
    assert "# providers below" in path.read_text()


def test_audience_and_points_settings_are_checked(tmp_path):
    cases = [
        ('[audience]\njoin_command = "join"\n', 'must be "!" and one word'),
        ('[audience]\njoin_command = "!a"\n', 'must be "!" and one word'),
        ('[audience]\njoin_command = "!go"\nleave_command = "!GO"\n', "must differ"),
        ('[audience]\ncameo_slots = 11\n', "out of range (0–10)"),
        ('[voting]\npoints_reward = "' + "x" * 46 + '"\n', "at most 45"),
        ('[voting]\npoints_reward = "Vote"\n[chat]\nsources = ["twitch"]\n'
         '[chat.twitch]\nchannel = "c"\n', "needs chat.twitch.oauth_token_env"),
        ('[chat.twitch]\nkeepalive_seconds = 5\n', "out of range (10–600)"),
    ]
    for text, message in cases:
        path = tmp_path / "storyd.toml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=re.escape(message)):
            config.load(path)
