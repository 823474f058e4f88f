"""``load_settings(path)``: read, override from the environment, validate, resolve.

Steps, each collecting every problem before raising :class:`SettingsError`:

1. parse the YAML keeping each key's line (yamlsource);
2. apply ``CONTACTGW_...`` environment overrides (envoverride);
3. validate with the pydantic models, mapping each error back to ``file:line: key``;
4. check cross-references (an agent in a missing queue, overlapping ports, ...), then
   let ``routing.build_routing_table`` judge the routing data;
5. resolve relative paths against the config file's directory and fill derived
   defaults (database URL under ``data_dir``, ``run_dir``, SIP domain).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from gateway.settings.describe import describe_errors, locate
from gateway.settings.envoverride import apply_env_overrides
from gateway.settings.errors import ConfigIssue, SettingsError
from gateway.settings.models import Settings
from gateway.settings.yamlsource import LineIndex, load_yaml
from gateway.settings.yamlsource import Path as KeyPath
from routing import RoutingConfigError, build_routing_table

DEFAULT_CONFIG = Path("config/contactgw.yaml")
SHIPPED_PROMPTS = Path(__file__).resolve().parents[2] / "config" / "prompts"


def load_settings(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Load and validate the configuration file at ``path``.

    ``environ`` defaults to ``os.environ``; tests pass their own.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(
            [ConfigIssue(str(file), 0, "", f"cannot read: {exc.strerror}")]
        ) from exc
    return parse_settings(text, file=str(file), base_dir=file.resolve().parent, environ=environ)


def parse_settings(
    text: str, *, file: str, base_dir: Path, environ: Mapping[str, str] | None = None
) -> Settings:
    """Validate configuration ``text``; ``file`` is only used in messages."""
    data, index = load_yaml(text, file)
    if "routing" in data:
        raise SettingsError(
            [
                locate(
                    ("routing",),
                    "unknown key; dids, default_route, queues and agents go at the top level",
                    index,
                    {},
                )
            ]
        )
    origins, issues = apply_env_overrides(data, os.environ if environ is None else environ)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        issues.extend(describe_errors(exc, Settings, data, index, origins))
        raise SettingsError(sorted(issues, key=_file_order)) from None
    issues.extend(
        locate(p, problem, index, origins) for p, problem in settings.reference_problems()
    )
    if not issues:
        issues.extend(_routing_package_issues(settings, index, origins))
    resolved = resolve_paths(settings, base_dir)
    issues.extend(
        locate(path, problem, index, origins) for path, problem in _prompt_problems(resolved)
    )
    if issues:
        raise SettingsError(sorted(issues, key=_file_order))
    return resolved


def _prompt_problems(settings: Settings) -> list[tuple[tuple[str | int, ...], str]]:
    """A prompt is a WAV in prompt_dir named without its extension, or an absolute path."""
    assert settings.prompt_dir is not None
    problems = []
    for path, name in settings.prompt_references():
        candidate = Path(name) if Path(name).is_absolute() else settings.prompt_dir / f"{name}.wav"
        if not candidate.is_file():
            problems.append((path, f"no prompt {name!r} (looked for {candidate})"))
    return problems


def _file_order(issue: ConfigIssue) -> tuple[bool, int]:
    return issue.line == 0, issue.line  # file lines first, then environment variables


def resolve_paths(settings: Settings, base_dir: Path) -> Settings:
    """Make every path absolute and fill the defaults that depend on other keys."""
    data_dir = (base_dir / settings.data_dir).resolve()
    run_dir = (
        (data_dir / "run") if settings.run_dir is None else (base_dir / settings.run_dir).resolve()
    )
    recordings = settings.recordings.model_copy(
        update={"directory": (data_dir / settings.recordings.directory).resolve()}
    )
    database = settings.database.model_copy(
        update={"url": _database_url(settings.database.url, data_dir)}
    )
    prompt_dir = (
        SHIPPED_PROMPTS
        if settings.prompt_dir is None
        else (base_dir / settings.prompt_dir).resolve()
    )
    sip = settings.sip.model_copy(
        update={"domain": settings.sip.domain or settings.sip.advertised_address}
    )
    mqtt = settings.mqtt.model_copy(
        update={
            key: (base_dir / path).resolve()
            for key in ("ca_file", "cert_file", "key_file")
            if (path := getattr(settings.mqtt, key)) is not None
        }
    )
    return settings.model_copy(
        update={
            "data_dir": data_dir,
            "run_dir": run_dir,
            "prompt_dir": prompt_dir,
            "recordings": recordings,
            "database": database,
            "sip": sip,
            "mqtt": mqtt,
        }
    )


def _database_url(url: str | None, data_dir: Path) -> str:
    if url is None:
        return f"sqlite+aiosqlite:///{data_dir / 'contactgw.db'}"
    match = re.match(r"^(sqlite\+aiosqlite:///)(.*)$", url)
    if match is None or match.group(2).startswith(("/", ":memory:")) or match.group(2) == "":
        return url
    return f"{match.group(1)}{(data_dir / match.group(2)).resolve()}"


def _routing_package_issues(
    settings: Settings, index: LineIndex, origins: Mapping[KeyPath, str]
) -> list[ConfigIssue]:
    """Ask routing/ whether it accepts the data (numbers, hours, closed-action cycles)."""
    data = settings.routing.routing_data()
    try:
        build_routing_table(data)
    except RoutingConfigError as exc:
        return [locate(parse_key_path(exc.path), exc.problem, index, origins)]
    return []


def parse_key_path(text: str) -> KeyPath:
    """``"queues.sales.schedule.hours[0]"`` -> ``("queues", "sales", "schedule", "hours", 0)``."""
    path: list[str | int] = []
    for token in re.finditer(r"\[(\d+)\]|([^.\[\]]+)", text):
        path.append(int(token.group(1)) if token.group(1) is not None else token.group(2))
    return tuple(path)
