"""Settings precedence: flag > EVENTIX_* environment > config profile > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventix_cli.config import DEFAULT_URL, load_settings, mask_token, secret_from_env
from eventix_cli.core.errors import ConfigError, UsageError


def _write(tmp_path: Path, text: str) -> dict[str, str]:
    config_dir = tmp_path / "cfg"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "config.toml").write_text(text)
    return {"EVENTIX_CONFIG_DIR": str(config_dir)}


def test_defaults_without_file(tmp_path: Path) -> None:
    settings = load_settings(env={"EVENTIX_CONFIG_DIR": str(tmp_path)})
    assert settings.url == DEFAULT_URL == "http://127.0.0.1:8000"
    assert settings.namespace == "default"
    assert settings.token is None
    assert settings.profile == "default"
    assert settings.read_only is False


def test_precedence(tmp_path: Path) -> None:
    env = _write(
        tmp_path,
        '[default]\nurl = "http://profile:1"\nnamespace = "from-profile"\ntimeout = 3\n',
    )
    settings = load_settings(env=env)
    assert (settings.url, settings.namespace, settings.timeout) == ("http://profile:1", "from-profile", 3.0)
    assert settings.sources["url"] == "profile default"

    env |= {"EVENTIX_URL": "http://env:2", "EVENTIX_NAMESPACE": "from-env"}
    settings = load_settings(env=env)
    assert (settings.url, settings.namespace) == ("http://env:2", "from-env")
    assert settings.timeout == 3.0  # still from the profile

    settings = load_settings(env=env, overrides={"url": "http://flag:3", "namespace": None})
    assert settings.url == "http://flag:3"
    assert settings.namespace == "from-env"  # None means "flag not given"
    assert settings.sources["url"] == "flag"


def test_named_profile_from_flag_env_and_active(tmp_path: Path) -> None:
    env = _write(
        tmp_path,
        'active_profile = "staging"\n[default]\nurl = "http://d:1"\n'
        '[staging]\nurl = "http://s:1"\n[prod]\nurl = "https://p:1"\ntoken = "abcdefghijklmnop"\n',
    )
    assert load_settings(env=env).url == "http://s:1"
    assert load_settings(env=env | {"EVENTIX_PROFILE": "prod"}).url == "https://p:1"
    settings = load_settings(env=env | {"EVENTIX_PROFILE": "staging"}, profile="prod")
    assert settings.profile == "prod"
    assert settings.token == "abcdefghijklmnop"
    assert settings.masked()["token"] == "abcd…op"


def test_unknown_profile_is_an_error(tmp_path: Path) -> None:
    env = _write(tmp_path, '[prod]\nurl = "https://p:1"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(env=env, profile="nope")
    assert "nope" in info.value.message
    assert "prod" in (info.value.hint or "")
    # the default profile may be absent
    assert load_settings(env=env).url == DEFAULT_URL


def test_malformed_file_names_file_and_line(tmp_path: Path) -> None:
    env = _write(tmp_path, '[default]\nurl = "http://x:1"\nnamespace = \n')
    with pytest.raises(ConfigError) as info:
        load_settings(env=env)
    assert f"{tmp_path / 'cfg' / 'config.toml'}:3" in info.value.message
    assert info.value.exit_code == 2


def test_bad_values(tmp_path: Path) -> None:
    env = _write(tmp_path, "[default]\ntimeout = -1\n")
    with pytest.raises(ConfigError, match="timeout must be positive"):
        load_settings(env=env)
    env = _write(tmp_path, "[default]\ncolour = 1\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(env=env)
    with pytest.raises(ConfigError, match="EVENTIX_READ_ONLY"):
        load_settings(env={"EVENTIX_CONFIG_DIR": str(tmp_path / "none"), "EVENTIX_READ_ONLY": "maybe"})
    with pytest.raises(ConfigError, match="EVENTIX_OUTPUT"):
        load_settings(env={"EVENTIX_CONFIG_DIR": str(tmp_path / "none"), "EVENTIX_OUTPUT": "xml"})


def test_bools_and_tls(tmp_path: Path) -> None:
    env = {"EVENTIX_CONFIG_DIR": str(tmp_path), "EVENTIX_READ_ONLY": "1", "EVENTIX_VERIFY": "false"}
    settings = load_settings(env=env)
    assert settings.read_only is True
    assert settings.tls_verify is False
    settings = load_settings(env={"EVENTIX_CONFIG_DIR": str(tmp_path), "EVENTIX_CA_BUNDLE": "/etc/ca.pem"})
    assert settings.tls_verify == "/etc/ca.pem"


@pytest.mark.parametrize("blank", ["", " "])
def test_a_blank_variable_is_unset_and_never_switches_a_safety_off(tmp_path: Path, blank: str) -> None:
    """`EVENTIX_VERIFY=` must not turn certificate checks off, nor `EVENTIX_READ_ONLY=` lift a
    read-only profile: a blank variable is as if it were not set, as for the URL."""
    env = _write(tmp_path, "[default]\nread_only = true\n")
    settings = load_settings(env=env | {"EVENTIX_VERIFY": blank, "EVENTIX_READ_ONLY": blank})
    assert settings.tls_verify is True
    assert settings.read_only is True
    assert settings.sources["read_only"] == "profile default"


def test_invalid_url(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="invalid server URL"):
        load_settings(env={"EVENTIX_CONFIG_DIR": str(tmp_path), "EVENTIX_URL": "localhost:8000"})


def test_mask_token() -> None:
    assert mask_token("short") == "****"
    assert "abcdefghijklmnop" not in mask_token("abcdefghijklmnop")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://[::1", "invalid server URL"),
        ("http://127.0.0.1:99999", "port 99999 is out of range"),
        ("http://127.0.0.1:http", "port 'http' is not a number"),
        ("http://:8000", "no host"),
        ("http://user:s3cret@127.0.0.1:8000", "a user name or password in the URL"),
    ],
    ids=["ipv6-unclosed", "port-range", "port-name", "no-host", "userinfo"],
)
def test_a_url_no_request_could_go_to_is_refused_as_bad_input(cli, url: str, message: str) -> None:
    result = cli("task", "list", "--url", url)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert result.stderr.startswith("error: ")
    assert "(UsageError)" in result.stderr
    assert "s3cret" not in result.stderr  # a password is never printed
    assert "Traceback" not in result.stderr


def test_the_token_comes_from_the_file_eventix_token_file_names(tmp_path: Path) -> None:
    # systemd's LoadCredential hands a secret over as a file: one trailing line break is not the token's
    (tmp_path / "token").write_text("s3cret\r\n")
    env = _write(tmp_path, '[default]\ntoken = "from-profile"\n') | {
        "EVENTIX_TOKEN_FILE": str(tmp_path / "token")
    }
    settings = load_settings(env=env)
    assert settings.token == "s3cret"
    assert settings.sources["token"] == "EVENTIX_TOKEN_FILE"


def test_a_token_file_that_cannot_be_read_or_a_second_token_is_refused(tmp_path: Path) -> None:
    env = {"EVENTIX_CONFIG_DIR": str(tmp_path), "EVENTIX_TOKEN_FILE": str(tmp_path / "missing")}
    with pytest.raises(UsageError, match=r"cannot read EVENTIX_TOKEN_FILE=.*missing"):
        load_settings(env=env)
    (tmp_path / "token").write_text("s3cret")
    env |= {"EVENTIX_TOKEN_FILE": str(tmp_path / "token"), "EVENTIX_TOKEN": "other"}
    with pytest.raises(UsageError, match="both EVENTIX_TOKEN and EVENTIX_TOKEN_FILE are set"):
        load_settings(env=env)


def test_secret_from_env_reads_the_variable_or_its_file(tmp_path: Path) -> None:
    assert secret_from_env("EVENTIX_SERVER_TOKEN", {}) is None
    assert secret_from_env("EVENTIX_SERVER_TOKEN", {"EVENTIX_SERVER_TOKEN": "a"}) == "a"
    (tmp_path / "t").write_text("b\n\n")
    # only one line break is dropped: the rest is the secret's, and the server refuses it later
    assert (
        secret_from_env("EVENTIX_SERVER_TOKEN", {"EVENTIX_SERVER_TOKEN_FILE": str(tmp_path / "t")}) == "b\n"
    )
