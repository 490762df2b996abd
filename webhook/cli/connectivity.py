"""``netpol-guard connectivity``: who can reach whom, from manifests or a live cluster.

Reads Pods, workload controllers, Namespaces and NetworkPolicies (``-f`` files, directories or
``-`` for stdin; or ``--cluster``), analyses them with ``webhook.connectivity`` and writes the
allowed connections as txt (the reference analyzer's line format), csv, md or json (the
document the pictures are drawn from). ``--namespace`` and ``--focus`` only narrow what is
shown: the analysis always reads everything, since other namespaces' policies decide too.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from typing import Any

from webhook.connectivity.exposure import Exposure
from webhook.connectivity.result import Result, filtered

EXIT_OK = 0
EXIT_USAGE = 2
TEXT_FORMATS = ("txt", "json", "csv", "md")
# The pictures are offered once their renderer is part of the package.
GRAPH_MODULE = "webhook.cli.connectivity_graph"
GRAPH_FORMATS = ("dot", "svg", "html")
PROG = "netpol-guard connectivity"


def graph_available() -> bool:
    """True when the picture renderers are installed with the package."""
    try:
        return importlib.util.find_spec(GRAPH_MODULE) is not None
    except ModuleNotFoundError:
        return False


def output_formats() -> tuple[str, ...]:
    return TEXT_FORMATS + (GRAPH_FORMATS if graph_available() else ())


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """``--kubeconfig`` and ``--context``, as ``audit`` has them."""
    parser.add_argument("--kubeconfig", metavar="PATH",
                        help="kubeconfig for --cluster (default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--context", metavar="NAME", help="kubeconfig context for --cluster")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``netpol-guard connectivity``."""
    parser.add_argument("-f", "--filename", dest="files", metavar="PATH", action="extend",
                        nargs="+", default=[],
                        help="manifest file or directory ('-' reads stdin); repeatable")
    parser.add_argument("--cluster", action="store_true",
                        help="analyse the live cluster (its namespaces, pods and policies)")
    add_source_arguments(parser)
    parser.add_argument("--namespace", metavar="NS",
                        help="show only connections with a workload of NS at one end")
    parser.add_argument("--focus", metavar="NS/WORKLOAD",
                        help="show only connections of one workload (NS/NAME or its full id "
                             "NS/NAME[Kind])")
    parser.add_argument("-o", "--output", choices=output_formats(), default="txt",
                        help="output format (default: %(default)s)")
    parser.add_argument("--exposure", action="store_true",
                        help="also list workloads reachable from every namespace, from any "
                             "pod, from outside the cluster, and those that reach the whole "
                             "world")


def usage_error(prog: str, args: argparse.Namespace, *, with_files: bool) -> str | None:
    """The first conflicting or ineffective flag, as a one-line message with the fix."""
    files = getattr(args, "files", None)
    if with_files and args.cluster and files:
        return "-f and --cluster exclude each other: analyse manifests or the cluster"
    if with_files and not args.cluster and not files:
        return "nothing to analyse: give -f PATH (or -f - for stdin) or --cluster"
    if (args.kubeconfig or args.context) and not args.cluster:
        return "--kubeconfig and --context need --cluster"
    return None


def run(args: argparse.Namespace) -> int:
    """Analyse and write; 0, or 2 on a usage or input error."""
    from webhook.cli.connectivity_input import InputError, read_side
    from webhook.connectivity import analyse
    from webhook.connectivity.exposure import exposure

    problem = usage_error(PROG, args, with_files=True)
    if problem is None and args.exposure and args.output == "csv":
        problem = "--exposure has no csv form: use -o txt, md or json"
    if problem is None and args.exposure and args.output in ("dot", "svg"):
        problem = f"--exposure has no {args.output} form: use -o txt, md, json or html"
    if problem:
        print(f"{PROG}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        objects, warnings = read_side(args.files, cluster=args.cluster,
                                      kubeconfig=args.kubeconfig, context=args.context)
    except InputError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return EXIT_USAGE
    result = analyse(objects)
    result.warnings[:0] = warnings
    shown, problem = narrowed(result, args.namespace, args.focus)
    if problem or shown is None:
        print(f"{PROG}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    exposed = None
    if args.exposure:
        exposed = narrowed_exposure(exposure(result), {w.id for w in shown.workloads}
                                    if (args.namespace or args.focus) else None)
    return write(shown, args.output, exposed)


def narrowed(result: Result, namespace: str | None, focus: str | None
             ) -> tuple[Result | None, str | None]:
    """The result narrowed by --namespace and --focus, or an error message."""
    keep: set[str] | None = None
    if namespace is not None:
        keep = {w.id for w in result.workloads if w.namespace == namespace}
        if not keep:
            known = ", ".join(result.namespaces) or "none"
            return None, (f"--namespace {namespace}: no workload in that namespace "
                          f"(namespaces with workloads: {known})")
    if focus is not None:
        matches = [w.id for w in result.workloads
                   if focus in (w.id, f"{w.namespace}/{w.name}")]
        if len(matches) != 1:
            ns = focus.partition("/")[0]
            near = [w.id for w in result.workloads if w.namespace == ns][:10]
            hint = f"; workloads in {ns}: {', '.join(near)}" if near else ""
            what = "is ambiguous" if matches else "is not a workload"
            return None, f"--focus {focus} {what} (give NS/NAME or NS/NAME[Kind]){hint}"
        keep = set(matches) if keep is None else keep & set(matches)
        if not keep:
            return None, f"--focus {focus} is not in --namespace {namespace}"
    return (result if keep is None else filtered(result, keep)), None


def narrowed_exposure(exposed: Exposure, keep: set[str] | None) -> Exposure:
    """Only the workloads shown."""
    if keep is None:
        return exposed
    return Exposure(*([i for i in ids if i in keep] for ids in (
        exposed.from_all_namespaces, exposed.from_any_pod, exposed.from_outside,
        exposed.to_whole_world)))


def write(result: Result, output: str, exposed: Exposure | None) -> int:
    """Render and write to stdout; warnings go to stderr (json carries them inside)."""
    from webhook.cli.connectivity_text import emit, render_connectivity
    from webhook.connectivity.document import to_document

    if output in GRAPH_FORMATS:
        text = _render_graph(output, to_document(result, exposed))
        if text is None:
            return EXIT_USAGE
    else:
        text = render_connectivity(result, output, exposed)
    emit(text, result.warnings, output=output)
    return EXIT_OK


def _render_graph(output: str, doc: dict[str, Any]) -> str | None:
    module = importlib.import_module(GRAPH_MODULE)
    render = getattr(module, f"render_{output}")
    try:
        return str(render(doc))
    except Exception as err:  # noqa: BLE001 - the renderer's one-line message for the user
        if type(err).__module__.startswith(GRAPH_MODULE):
            print(f"{PROG}: {err}", file=sys.stderr)
            return None
        raise
