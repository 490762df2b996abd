"""The ``netpol-guard`` command: serve | check | audit | policy | certs | connectivity | diff.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``; modules keep heavy imports inside ``run`` so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("webhook.cli.serve", "run the admission webhook (gunicorn over TLS)"),
    "check": ("webhook.cli.check", "check manifests offline with the webhook's engine"),
    "audit": ("webhook.cli.audit", "audit a live cluster: namespaces and NetworkPolicies"),
    "policy": ("webhook.cli.policy", "validate a policy document or print its schema"),
    "certs": ("webhook.cli.certs", "write a dev CA and serving certificate"),
    "connectivity": ("webhook.cli.connectivity",
                     "who can reach whom, from manifests or a live cluster"),
    "diff": ("webhook.cli.diff", "what a change adds, removes and changes in who reaches whom"),
}


def version() -> str:
    """The installed distribution's version (the package's own when run from a checkout)."""
    from importlib import metadata

    try:
        return metadata.version("netpol-guard")
    except metadata.PackageNotFoundError:
        from webhook import __version__

        return __version__


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that subcommand's module is imported (so
    ``serve`` never imports what ``check`` needs, and vice versa)."""
    parser = argparse.ArgumentParser(
        prog="netpol-guard",
        description="Keeps Kubernetes pod-to-pod networking on least privilege.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or only == name:
            module = importlib.import_module(module_name)
            module.add_arguments(command)
            command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in arguments if not a.startswith("-")), None)
    parser = build_parser(chosen if chosen in SUBCOMMANDS else None)
    args = parser.parse_args(arguments)
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
