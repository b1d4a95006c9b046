"""Settings: command-line flag > ``EVENTIX_*`` environment > profile in config.toml > default.

The config file is TOML, one table per profile::

    active_profile = "prod"       # optional; `eventix config use prod` writes it

    [default]
    url = "http://127.0.0.1:8000"

    [prod]
    url = "https://eventix.example.com"
    namespace = "billing"
    token = "..."
    read_only = true

Nothing is read at import time: :func:`load_settings` reads the environment and the file
when a command asks for them.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from eventix_cli.core.errors import ConfigError, ReadOnlyError, UsageError

ENV_URL = "EVENTIX_URL"
ENV_NAMESPACE = "EVENTIX_NAMESPACE"
ENV_TOKEN = "EVENTIX_TOKEN"
ENV_PROFILE = "EVENTIX_PROFILE"
ENV_CONFIG_DIR = "EVENTIX_CONFIG_DIR"
ENV_OUTPUT = "EVENTIX_OUTPUT"
ENV_TIMEOUT = "EVENTIX_TIMEOUT"
ENV_VERIFY = "EVENTIX_VERIFY"
ENV_CA_BUNDLE = "EVENTIX_CA_BUNDLE"
ENV_READ_ONLY = "EVENTIX_READ_ONLY"
ENV_DEBUG = "EVENTIX_DEBUG"
ENV_STATE_DIR = "EVENTIX_STATE_DIR"
ENV_JOURNAL_LIMIT = "EVENTIX_JOURNAL_LIMIT"

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_NAMESPACE = "default"
DEFAULT_PROFILE = "default"
DEFAULT_JOURNAL_LIMIT = 200 * 1000 * 1000  # bytes the journal of changes keeps at most


class OutputFormat(StrEnum):
    """The formats of ``-o/--output`` (and of the ``output`` setting)."""

    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    ids = "ids"


FORMATS: tuple[str, ...] = tuple(f.value for f in OutputFormat)
DEFAULT_FORMAT = "table"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a command needs to know about where and how to talk to a server."""

    url: str = DEFAULT_URL
    namespace: str = DEFAULT_NAMESPACE
    token: str | None = None
    output: str | None = None  # None: the command's default (table)
    timeout: float = 10.0
    verify: bool = True
    ca_bundle: str | None = None
    read_only: bool = False
    journal_limit: int = DEFAULT_JOURNAL_LIMIT
    profile: str = DEFAULT_PROFILE
    config_file: Path | None = None
    sources: dict[str, str] = field(default_factory=dict, compare=False)
    warnings: tuple[str, ...] = ()

    @property
    def tls_verify(self) -> bool | str:
        """What the client passes to httpx: a CA bundle path, or on/off."""
        if not self.verify:
            return False
        return self.ca_bundle or True

    def masked(self) -> dict[str, Any]:
        """A printable view with the token masked."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("sources", "warnings")}
        if self.token:
            out["token"] = mask_token(self.token)
        out["config_file"] = str(self.config_file) if self.config_file else None
        return out


# keys a profile may set, with the parser for each
def require_writable(settings: Settings, what: str) -> None:
    """Refuse (``ReadOnlyError``) to ``what`` when read-only mode is on."""
    if settings.read_only:
        source = settings.sources.get("read_only", "settings")
        raise ReadOnlyError(
            f"refusing to {what}: read-only mode is on (from {source})",
            hint="unset EVENTIX_READ_ONLY or use a profile without read_only to change tasks",
        )


def _parse_bool(key: str, value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{where}: {key} must be true or false, got {value!r}")


def _parse_float(key: str, value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {key} must be a number of seconds, got {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{where}: {key} must be positive, got {value!r}")
    return number


def _parse_str(key: str, value: Any, where: str) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be a string, got {value!r}")
    return str(value)


def _parse_output(key: str, value: Any, where: str) -> str:
    text = _parse_str(key, value, where)
    if text not in FORMATS:
        raise ConfigError(f"{where}: {key} must be one of {', '.join(FORMATS)}, got {value!r}")
    return text


_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}


def _parse_size(key: str, value: Any, where: str) -> int:
    """A size in bytes: ``200000000``, ``200MB``, ``1.5GB`` or ``512MiB``."""
    match = (
        re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(value))
        if not isinstance(value, bool)
        else None
    )
    unit = _SIZE_UNITS.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise ConfigError(f"{where}: {key} must be a size such as 200MB, got {value!r}")
    return int(float(match.group(1)) * unit)


_PARSERS = {
    "url": _parse_str,
    "namespace": _parse_str,
    "token": _parse_str,
    "output": _parse_output,
    "timeout": _parse_float,
    "verify": _parse_bool,
    "ca_bundle": _parse_str,
    "read_only": _parse_bool,
    "journal_limit": _parse_size,
}
PROFILE_KEYS = tuple(_PARSERS)

_ENV = {
    "url": ENV_URL,
    "namespace": ENV_NAMESPACE,
    "token": ENV_TOKEN,
    "output": ENV_OUTPUT,
    "timeout": ENV_TIMEOUT,
    "verify": ENV_VERIFY,
    "ca_bundle": ENV_CA_BUNDLE,
    "read_only": ENV_READ_ONLY,
    "journal_limit": ENV_JOURNAL_LIMIT,
}


#: the suffix of a variable that names a file holding a secret (``EVENTIX_TOKEN_FILE``), as
#: systemd's LoadCredential and container secrets hand them over: never on a command line
FILE_SUFFIX = "_FILE"


def secret_from_env(var: str, env: Mapping[str, str] | None = None) -> str | None:
    """The value of ``var``, or the content of the file ``var_FILE`` names (one trailing line
    break dropped); None when neither is set. Both set, or a file that cannot be read, is a
    ``UsageError`` naming the variable."""
    env = os.environ if env is None else env
    file_var = var + FILE_SUFFIX
    path = env.get(file_var) or None
    if path is None:
        return env.get(var) or None
    if env.get(var):
        raise UsageError(f"both {var} and {file_var} are set: use one")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot read {file_var}={path}: {reason}") from None
    return text.removesuffix("\n").removesuffix("\r") or None


def mask_token(token: str) -> str:
    """Enough of a token to recognise it, never enough to use it."""
    return "****" if len(token) < 12 else f"{token[:4]}…{token[-2:]}"


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(ENV_CONFIG_DIR):
        return Path(env[ENV_CONFIG_DIR]).expanduser()
    from platformdirs import user_config_dir  # deferred: only when settings are read (test_startup)

    return Path(user_config_dir("eventix", appauthor=False))


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the CLI keeps what it writes for itself (the journal of changes)."""
    env = os.environ if env is None else env
    if env.get(ENV_STATE_DIR):
        return Path(env[ENV_STATE_DIR]).expanduser()
    from platformdirs import user_state_dir  # deferred: only when a command journals (test_startup)

    return Path(user_state_dir("eventix", appauthor=False))


def config_path(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / "config.toml"


def read_config(path: Path) -> dict[str, Any]:
    """The parsed config file, ``{}`` when it does not exist; a clear error when malformed."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    import tomllib  # deferred: only when there is a config file (test_startup)

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text: {exc.reason}") from exc
    except tomllib.TOMLDecodeError as exc:
        # Python 3.14 adds exc.lineno/exc.msg; 3.13 only says "(at line N, column M)"
        found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", str(exc))
        line = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
        reason = getattr(exc, "msg", None) or (str(exc)[: found.start()] if found else str(exc))
        column = f", column {found.group(2)}" if found else ""
        where = f"{path}:{line}" if line else str(path)
        reason = f"{reason} (line {line}{column})" if line else reason
        raise ConfigError(
            f"malformed config file {where}: {reason}", hint="fix or remove the file; it is TOML"
        ) from exc
    return data


#: the config file's own top-level keys (`eventix config use` writes active_profile): a profile
#: of one of these names would be that key, so none is a profile name
RESERVED_NAMES = ("active_profile",)


def check_profile_name(name: str, source: str) -> str:
    """``name`` when it can name a profile; a ``UsageError`` when it is a key of the file itself."""
    if name in RESERVED_NAMES:
        raise UsageError(f"{name!r} cannot be a profile name (from {source}): it is a key of the config file")
    return name


def active_profile(data: Mapping[str, Any], path: Path) -> str | None:
    """The profile `eventix config use` chose (the file's ``active_profile``), None when none;
    a ``ConfigError`` when the key holds anything else (a ``[active_profile]`` table: not a
    profile, and `config use` would overwrite it)."""
    active = data.get("active_profile")
    if isinstance(active, dict):
        raise ConfigError(
            f"{path}: [active_profile] is not a profile: active_profile names the profile in use; "
            "rename the table"
        )
    if active is not None and (not isinstance(active, str) or active in RESERVED_NAMES):
        raise ConfigError(f"{path}: active_profile must be a profile name, got {active!r}")
    return active or None


def profile_name(
    data: Mapping[str, Any], path: Path, profile: str | None = None, env: Mapping[str, str] | None = None
) -> str:
    """The profile a command reads or `config set` changes: ``profile`` (--profile), else
    EVENTIX_PROFILE, else the file's active_profile, else the default one."""
    env = os.environ if env is None else env
    active = active_profile(data, path)  # checked whichever is used: the file is read as a whole
    if profile:
        return check_profile_name(profile, "--profile")
    if env.get(ENV_PROFILE):
        return check_profile_name(env[ENV_PROFILE], ENV_PROFILE)
    return active or DEFAULT_PROFILE


def profile_in_use(
    data: Mapping[str, Any], path: Path, profile: str | None = None, env: Mapping[str, str] | None = None
) -> str:
    """:func:`profile_name`, refused (``ConfigError``) as every command refuses it when the
    file does not define it (the default profile needs no table)."""
    name = profile_name(data, path, profile, env)
    _profile_table(data, name, path, required=name != DEFAULT_PROFILE)
    return name


def _profile_table(data: Mapping[str, Any], name: str, path: Path, *, required: bool) -> dict[str, Any]:
    table = data.get(name)
    if table is None:
        if required:
            known = sorted(k for k, v in data.items() if isinstance(v, dict))
            raise ConfigError(
                f"profile {name!r} is not defined in {path}",
                hint=f"defined profiles: {', '.join(known)}"
                if known
                else "create it with `eventix config set`",
            )
        return {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{name}] must be a table of settings, got {table!r}")
    unknown = sorted(set(table) - set(_PARSERS))
    if unknown:
        raise ConfigError(
            f"{path}: [{name}] has unknown setting(s) {', '.join(unknown)}",
            hint=f"known settings: {', '.join(PROFILE_KEYS)}",
        )
    return dict(table)


def exposed_token_note(data: Mapping[str, Any], path: Path) -> str | None:
    """A warning when the file holds a token other users can read, else None."""
    if any(isinstance(t, dict) and "token" in t for t in data.values()) and _readable_by_others(path):
        return f"{path} holds a token and can be read by other users; run: chmod 600 {path}"
    return None


def _readable_by_others(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))
    except OSError:
        return False


def validate_url(url: str, source: str = "--url") -> str:
    """``url`` without its trailing slash when a request can go to it; a UsageError (exit 2,
    nothing sent) naming the fault otherwise. A password in it is never repeated."""
    expected = "expected http://HOST[:PORT] or https://..."
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unclosed [IPv6 address
        raise UsageError(f"invalid server URL {url!r} (from {source}): {exc}; {expected}") from None
    try:
        port = parts.port
    except ValueError:
        text = parts.netloc.rpartition(":")[2]
        shown = url if parts.password is None else url.replace(f":{parts.password}@", ":***@", 1)
        fault = f"port {text} is out of range" if text.isdigit() else f"port {text!r} is not a number"
        raise UsageError(f"invalid server URL {shown!r} (from {source}): {fault}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"invalid server URL {url!r} (from {source}): {expected}")
    if parts.username is not None or parts.password is not None:
        raise UsageError(
            f"a user name or password in the URL is not used (from {source}): give the token with "
            "EVENTIX_TOKEN or the profile's token, and the URL as http://HOST[:PORT]"
        )
    if not parts.hostname:
        raise UsageError(f"invalid server URL {url!r} (from {source}): no host; {expected}")
    if port == 0:
        raise UsageError(f"invalid server URL {url!r} (from {source}): port 0 is out of range")
    return url.rstrip("/")


def load_settings(
    *,
    profile: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting from flags (``overrides``), environment, config profile, defaults."""
    env = os.environ if env is None else env
    path = config_path(env)
    data = read_config(path)

    name = profile_name(data, path, profile, env)
    table = _profile_table(data, name, path, required=name != DEFAULT_PROFILE)

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, value in table.items():
        values[key] = _PARSERS[key](key, value, f"{path} [{name}]")
        sources[key] = f"profile {name}"
    for key, var in _ENV.items():
        # a blank variable is unset (as an exported-but-empty one reads in a shell): it never
        # switches a safety off (`EVENTIX_VERIFY=` would disable certificate checks)
        if var in env and env[var].strip():
            values[key] = _PARSERS[key](key, env[var], var)
            sources[key] = var
    if env.get(ENV_TOKEN + FILE_SUFFIX):
        values["token"] = secret_from_env(ENV_TOKEN, env)
        sources["token"] = ENV_TOKEN + FILE_SUFFIX
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
            sources[key] = "flag"

    note = exposed_token_note(data, path)
    notes = [note] if note else []
    settings = Settings(profile=name, config_file=path, sources=sources, warnings=tuple(notes))
    settings = replace(settings, **values)
    _validate(settings)
    return settings


#: the longest request timeout taken (a day); longer is a mistake, and beyond what sockets accept
MAX_TIMEOUT = 86400.0


def _check_namespace(value: str, source: str) -> None:
    if not value:
        raise UsageError(f"the namespace must not be empty (from {source})")


def _check_timeout(value: float, source: str) -> None:
    if not 0 < value <= MAX_TIMEOUT:  # also refuses NaN
        raise UsageError(
            f"the request timeout must be between 0 and {MAX_TIMEOUT:g} seconds, got {value!r} "
            f"(from {source})"
        )


#: the rules a value must pass whichever set it (a flag, a variable, a profile, `config set`),
#: each given the value and where it comes from
_RULES = {"url": validate_url, "namespace": _check_namespace, "timeout": _check_timeout}
#: the flag named in a rule's message when the value comes from one
_FLAGS = {"url": None, "namespace": "-n/--namespace", "timeout": "--request-timeout"}


def _validate(settings: Settings) -> None:
    """Values no flag, variable or profile may set, whichever set them."""
    for key, rule in _RULES.items():
        source = settings.sources.get(key)
        flag = _FLAGS[key]
        rule(getattr(settings, key), _flag_name(source, flag) if flag else source or "default")


def parse_setting(key: str, value: Any, source: str) -> Any:
    """``value`` as a profile stores ``key`` (`eventix config set`): parsed, then checked with
    the rules every command applies when it reads it, so no command refuses it later."""
    parsed = _PARSERS[key](key, value, source)
    rule = _RULES.get(key)
    if rule is not None:
        rule(parsed, source)
    return parsed


def _flag_name(source: str | None, flag: str) -> str:
    return flag if source == "flag" else (source or "default")
