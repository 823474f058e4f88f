"""`contactgw run`: load and validate the config, then run the control plane."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from gateway.settings import DEFAULT_CONFIG, SettingsError, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        default=str(DEFAULT_CONFIG),
        help="YAML configuration file (default: %(default)s)",
    )
    parser.add_argument("--check", action="store_true", help="validate the configuration and exit")


def main(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"contactgw: {exc}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{args.config}: OK")
        return 0
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from gateway.control.daemon import ControlPlane  # heavy imports only when running
    from gateway.control.preflight import PortsUnavailable
    from gateway.control.standby import control_lock, run_as_active

    assert settings.database.url is not None  # the loader fills in the SQLite default
    c = settings.control  # PostgreSQL: wait as a standby while another is active
    lock = control_lock(settings.database.url, c.standby_key, c.lock_grace)
    try:
        asyncio.run(run_as_active(lock, lambda: ControlPlane(settings).run()))
    except PortsUnavailable as exc:  # another process (a second instance?) holds them
        for line in exc.lines:
            print(line, file=sys.stderr)
        return 2
    return 0
