"""`storyd` command line: --check-config, --print-config, --version, usage errors."""

import pytest

from storyd import cli


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_config_ok_and_absent_file_means_defaults(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STORYD_CONFIG", str(tmp_path / "none.toml"))
    code, out, _ = run(capsys, "--check-config")
    assert code == 0 and "absent: defaults" in out
    good = tmp_path / "good.toml"
    good.write_text("[voting]\nduration = 45\n")
    code, out, _ = run(capsys, "--config", str(good), "--check-config")
    assert code == 0 and f"config ok: {good}" in out


@pytest.mark.parametrize(("text", "message"), [
    ("[voting]\ndurration = 45\n", ":2: unknown key 'durration' in [voting]; did you mean 'duration'?"),
    ("[story]\nchoices = 8\n", ":2: story.choices = 8 is out of range (3–6)"),
    ("[story\n", ":1: TOML syntax error"),
])
def test_check_config_bad_exits_2_naming_file_line_and_key(tmp_path, capsys, text, message):
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    code, out, err = run(capsys, "--config", str(bad), "--check-config")
    assert code == 2 and out == ""
    assert err.startswith(f"storyd: {bad}") and message in err


def test_missing_explicit_config_is_an_error(tmp_path, capsys):
    code, _, err = run(capsys, "--config", str(tmp_path / "nope.toml"), "--check-config")
    assert code == 2 and "does not exist" in err


def test_print_config_masks_secrets(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text('[providers.sf]\npreset = "siliconflow"\napi_key = "sk-live-abcdef"\n'
                    '[chat.tiktok]\nsign_api_key = "euler-123"\n')
    code, out, err = run(capsys, "--config", str(path), "--print-config")
    assert code == 0
    assert "sk-live-abcdef" not in out + err and "euler-123" not in out + err
    assert 'api_key = "********"' in out and "[voting]" in out and "duration = 60" in out


def test_version_and_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0 and "storyd " in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        cli.main(["--frobnicate"])
    assert exc.value.code == 2
