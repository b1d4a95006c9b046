"""``eventix config``: profiles in config.toml."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from eventix_cli.cli import output
from eventix_cli.cli.options import OutputOption, ReportOutputOption
from eventix_cli.cli.output import Column, Output, refuse_ids
from eventix_cli.config import (
    DEFAULT_FORMAT,
    DEFAULT_PROFILE,
    PROFILE_KEYS,
    Settings,
    active_profile,
    check_profile_name,
    config_path,
    exposed_token_note,
    parse_setting,
    profile_in_use,
    profile_name,
    read_config,
)
from eventix_cli.core.errors import ConfigError, UsageError

app = typer.Typer(
    name="config",
    help="Profiles: where to connect, which namespace, a token, read-only mode.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    add_completion=False,
    epilog=(
        "[bold]Examples[/bold]\n\n"
        "  eventix config set url https://eventix.example.com --profile prod\n"
        "  eventix config use prod\n"
    ),
)

ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        help="Profile to change (default: the global --profile, EVENTIX_PROFILE, the active one).",
        show_default=False,
    ),
]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def dump_toml(data: dict[str, Any]) -> str:
    """Top-level scalars, then one table per profile (all this file holds)."""
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for name, table in data.items():
        if isinstance(table, dict):
            if lines:
                lines.append("")
            lines.append(f"[{_toml_key(name)}]")
            lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"


def write_config(path: Path, data: dict[str, Any]) -> None:
    """Atomically: a temporary file next to the file, flushed, renamed over it. A symbolic link
    is followed (the file it names is replaced, the link stays). An existing file keeps its mode
    and owner; a new one is readable by the owner only (it may hold tokens). A file its owner
    made read-only is refused (``ConfigError``), though the rename alone would not need it."""
    target = Path(os.path.realpath(path))
    try:
        info: os.stat_result | None = target.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise ConfigError(f"cannot write config file {path}: {exc.strerror or exc}") from None
    if info is not None:
        mode = stat.S_IMODE(info.st_mode)
        if not mode & stat.S_IWUSR:
            raise ConfigError(f"config file {path} is read-only (mode {mode:04o}); nothing changed")
        if not os.access(target, os.W_OK):
            raise ConfigError(f"cannot write config file {path}: permission denied")
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".config.", suffix=".toml", dir=target.parent)
        if info is not None and (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
            with contextlib.suppress(PermissionError):  # only root may give a file away
                os.fchown(fd, info.st_uid, info.st_gid)
        os.fchmod(fd, 0o600 if info is None else stat.S_IMODE(info.st_mode))  # after chown
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(dump_toml(data))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise ConfigError(f"cannot write config file {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def _save(path: Path, data: dict[str, Any]) -> None:
    """:func:`write_config`, with the warning commands give when the file shows a token to others."""
    write_config(path, data)
    note = exposed_token_note(data, path)
    if note:
        output.warn(note)


@app.command(
    "path",
    epilog='[bold]Examples[/bold]\n\n  eventix config path\n  $EDITOR "$(eventix config path)"\n',
)
def path_cmd() -> None:
    """Print where the config file is (it may not exist yet)."""
    output.line(str(config_path()))


@app.command(
    "show",
    epilog="[bold]Examples[/bold]\n\n  eventix config show\n  eventix --profile prod config show -o json\n",
)
def show(ctx: typer.Context, output: ReportOutputOption = None) -> None:
    """Show the settings in effect and where each comes from (the token masked)."""
    state = ctx.find_root().obj
    settings = state.settings(output=output)
    refuse_ids(settings.output, "config show reports settings, not tasks", "-o json or -o table")
    doc = settings.masked()
    doc["output"] = settings.output or DEFAULT_FORMAT  # unset: the format commands print in
    doc["sources"] = {key: settings.sources.get(key, "default") for key in PROFILE_KEYS}
    out = Output(settings.output)
    if out.format == "table":
        rows = {k: NOT_SET if v is None else v for k, v in doc.items() if k != "sources"}
        rows = {k: f"{v}  ({_source_text(settings, k)})" if k in PROFILE_KEYS else v for k, v in rows.items()}
        out.document(rows)
    else:
        out.document(doc)


#: how the table shows a setting with no value (no token, no CA bundle)
NOT_SET = "not set"


def _source_text(settings: Settings, key: str) -> str:
    """Where a value comes from, in words: a flag, an environment variable, the profile (in
    which file), or the built-in default."""
    source = settings.sources.get(key, "default")
    if source.startswith("profile ") and settings.config_file is not None:
        return f"{source} in {settings.config_file}"
    return source


def _profiles(data: dict[str, Any]) -> list[str]:
    return [name for name, table in data.items() if isinstance(table, dict)]


@app.command(
    "list",
    epilog="[bold]Examples[/bold]\n\n  eventix config list\n  eventix config list -o json\n",
)
def list_cmd(ctx: typer.Context, fmt: OutputOption = None) -> None:
    """List the profiles: the default one and those of the config file; * marks the one in
    use (--profile, else EVENTIX_PROFILE, else the one `config use` chose)."""
    path = config_path()
    data = read_config(path)
    active = profile_in_use(data, path, ctx.find_root().obj.profile)
    # the default profile is always there (`config use default` needs no table in the file),
    # and the one in use is listed even when it sets nothing yet
    names = sorted({*_profiles(data), DEFAULT_PROFILE, active})
    out = Output(fmt)
    if out.format == "table":
        for name in names:
            output.line(f"{'*' if name == active else ' '} {name}")
        return
    rows = [
        {"profile": name, "active": name == active, "settings": list(data.get(name, {}))} for name in names
    ]
    if out.format == "json":
        out.document(rows)  # type: ignore[arg-type]
    else:
        out.records(rows, [Column(k, k) for k in ("profile", "active", "settings")], id_key="profile")


@app.command(
    "unset",
    epilog="[bold]Examples[/bold]\n\n  eventix config unset token --profile prod\n"
    "  eventix config unset namespace\n",
)
def unset_cmd(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="The setting to remove: " + ", ".join(PROFILE_KEYS) + ".")],
    profile: ProfileOption = None,
) -> None:
    """Remove one setting from a profile, so the environment or the default applies again."""
    if key not in PROFILE_KEYS:
        raise UsageError(f"unknown setting {key!r}", hint=f"known settings: {', '.join(PROFILE_KEYS)}")
    path = config_path()
    data = read_config(path)
    name = profile_name(data, path, profile or ctx.find_root().obj.profile)
    table = data.get(name)
    if not isinstance(table, dict) or key not in table:
        output.message(f"{key} is not set in profile {name} ({path}); nothing to do")
        return
    del table[key]
    _save(path, data)
    output.message(f"unset {key} in profile {name} ({path})")


@app.command(
    "set",
    epilog="[bold]Examples[/bold]\n\n  eventix config set namespace billing\n"
    "  eventix config set read_only true --profile prod\n",
)
def set_cmd(
    ctx: typer.Context,
    key: Annotated[
        str, typer.Argument(help="url, namespace, token, output, timeout, verify, ca_bundle, read_only")
    ],
    value: Annotated[str, typer.Argument(help="The value; 'true'/'false' for verify and read_only.")],
    profile: ProfileOption = None,
) -> None:
    """Set one setting in a profile (created if needed); a new file is written with mode 0600,
    an existing one keeps its mode."""
    if key not in PROFILE_KEYS:
        raise UsageError(f"unknown setting {key!r}", hint=f"known settings: {', '.join(PROFILE_KEYS)}")
    parsed = parse_setting(key, value, "config set")
    path = config_path()
    data = read_config(path)
    name = profile_name(data, path, profile or ctx.find_root().obj.profile)
    table = data.setdefault(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {name} is not a profile table")
    table[key] = parsed
    _save(path, data)
    shown = "****" if key == "token" else _toml_value(parsed)
    output.message(f"set {key} = {shown} in profile {name} ({path})")


@app.command(
    "use", epilog="[bold]Examples[/bold]\n\n  eventix config use prod\n  eventix config use default\n"
)
def use(name: Annotated[str, typer.Argument(help="The profile to make active.")]) -> None:
    """Make a profile the active one (used when neither --profile nor EVENTIX_PROFILE is given)."""
    check_profile_name(name, "config use")
    path = config_path()
    data = read_config(path)
    active_profile(data, path)  # a [active_profile] table is not overwritten
    if name != DEFAULT_PROFILE and not isinstance(data.get(name), dict):
        known = sorted(k for k, v in data.items() if isinstance(v, dict))
        raise UsageError(
            f"profile {name!r} is not defined in {path}",
            hint=f"defined: {', '.join(known)}"
            if known
            else "create it with `eventix config set KEY VALUE --profile NAME`",
        )
    data["active_profile"] = name
    _save(path, data)
    output.message(f"active profile: {name}")
