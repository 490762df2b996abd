"""Flags that contradict each other or would have no effect: each is implied or refused.

No flag is silently ignored (docs/cli.md, "Flags that go together"). A refusal is one line
that names the flag to add or remove; the command exits 2.
"""

from __future__ import annotations

import argparse
import os


class UsageError(Exception):
    """Flags that contradict each other: a one-line message naming the fix."""


def _live_flags(args: argparse.Namespace) -> str:
    """``--kubeconfig``/``--context`` as given (joined with "and"), or ""."""
    return " and ".join(flag for flag, value in (("--kubeconfig", args.kubeconfig),
                                                 ("--context", args.context)) if value)


def _verb(live: str, singular: str, plural: str) -> str:
    return plural if " and " in live else singular


def serve_cluster_source(args: argparse.Namespace, *, default: str) -> str:
    """The cluster source the flags select; UsageError when they contradict each other.

    ``--kubeconfig``/``--context`` only mean something for the live cluster, so they select it
    (a user pointing serve at a cluster tries them first); ``--inventory`` only for the
    inventory. Naming both kinds, or the other source explicitly, is refused.
    """
    live = _live_flags(args)
    explicit = args.cluster_source
    if explicit == "inventory" and live:
        raise UsageError(f"{live} {_verb(live, 'reads', 'read')} the live cluster: remove "
                         f"{live} or use --cluster-source kubernetes")
    if explicit == "kubernetes" and args.inventory:
        raise UsageError("--inventory is for --cluster-source inventory: remove --inventory "
                         "(the live cluster is read through the kubeconfig)")
    if explicit is None and live and args.inventory:
        raise UsageError(f"--inventory and {live} name two cluster sources: "
                         f"keep --inventory or {live}")
    if explicit is not None:
        return str(explicit)
    return "kubernetes" if live else default


def check_problem(args: argparse.Namespace) -> str | None:
    """A flag that would have no effect with the others, as a one-line message with the fix.

    Reading a live cluster stays an explicit choice in an offline check (``--cluster``, as in
    ``connectivity`` and ``diff``): ``--kubeconfig``/``--context`` alone are refused.
    ``--no-color`` is accepted with every ``--output``: what it asks for, no colour, holds in
    each (json and sarif never have any), so nothing the user asked for is dropped.
    """
    live = _live_flags(args)
    if live and args.inventory:
        return (f"{live} {_verb(live, 'reads', 'read')} a live cluster, --inventory a "
                f"directory: keep --inventory or use --cluster with {live}")
    if live and not args.cluster:
        return f"{live} {_verb(live, 'needs', 'need')} --cluster: add --cluster to read the " \
               "live cluster"
    return None


def audit_problem(args: argparse.Namespace) -> str | None:
    """Flags that contradict each other or could not take effect, as one line with the fix."""
    live = _live_flags(args)
    if args.in_cluster and live:
        return f"--in-cluster excludes {live}: remove --in-cluster or {live}"
    if args.inventory and live:
        return (f"--inventory audits a directory, {live} a live cluster: remove --inventory "
                f"or {live}")
    if args.in_cluster and not os.environ.get("KUBERNETES_SERVICE_HOST"):
        # Outside a pod the client would fall back to the kubeconfig without a word.
        return ("--in-cluster needs the pod's service account, and KUBERNETES_SERVICE_HOST "
                "is not set (not in a pod): remove --in-cluster to use the kubeconfig")
    return None
