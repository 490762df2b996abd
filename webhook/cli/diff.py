"""``netpol-guard diff OLD NEW``: what a change adds, removes and changes in who reaches whom.

OLD and NEW are manifest files or directories (``--cluster`` in place of OLD compares the live
cluster with NEW: what applying NEW would do). The output uses the reference analyzer's diff
lines (txt), or csv, json, or md for a pull-request comment. ``--fail-on`` makes the exit code 1
when a change of that type exists, for CI.
"""

from __future__ import annotations

import argparse
import sys

from webhook.cli.connectivity import add_source_arguments

EXIT_OK = 0
EXIT_CHANGES = 1
EXIT_USAGE = 2
PROG = "netpol-guard diff"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``netpol-guard diff``."""
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="OLD NEW (files or directories); with --cluster, only NEW")
    parser.add_argument("--cluster", action="store_true",
                        help="use the live cluster as OLD")
    add_source_arguments(parser)
    parser.add_argument("-o", "--output", choices=("txt", "json", "csv", "md"), default="txt",
                        help="output format (default: %(default)s; md is ready for a pull "
                             "request comment)")
    parser.add_argument("--fail-on", choices=("added", "changed", "removed", "any"),
                        help="exit 1 when a change of this type exists")


def _problem(args: argparse.Namespace) -> str | None:
    if (args.kubeconfig or args.context) and not args.cluster:
        return "--kubeconfig and --context need --cluster"
    if args.cluster and len(args.paths) != 1:
        return "with --cluster give only NEW: netpol-guard diff --cluster NEW"
    if not args.cluster and len(args.paths) != 2:
        return "give OLD and NEW: netpol-guard diff OLD NEW (or --cluster NEW)"
    if "-" in args.paths and args.paths.count("-") > 1:
        return "stdin ('-') can be only one of OLD and NEW"
    return None


def run(args: argparse.Namespace) -> int:
    """Compare; 0, 1 with --fail-on and a matching change, 2 on a usage or input error."""
    from webhook.cli.connectivity_input import InputError, read_objects, read_side
    from webhook.cli.connectivity_text import emit, render_diff
    from webhook.connectivity import analyse
    from webhook.connectivity.diff import diff

    problem = _problem(args)
    if problem:
        print(f"{PROG}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        old_objects, warnings = read_side([args.paths[0]], cluster=args.cluster,
                                          kubeconfig=args.kubeconfig, context=args.context)
        new_objects, new_warnings = read_objects([args.paths[-1]])
        warnings += new_warnings
    except InputError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return EXIT_USAGE
    old, new = analyse(old_objects), analyse(new_objects)
    warnings += old.warnings + new.warnings
    changes = diff(old, new)
    text = render_diff(changes, args.output, warnings)
    emit(text, warnings, output=args.output)
    return EXIT_CHANGES if args.fail_on and changes.has(args.fail_on) else EXIT_OK
