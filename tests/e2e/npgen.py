"""Hypothesis strategies for NetworkPolicy manifests biased to the API server's edges.

Mostly-valid shapes with edge values mixed in: empty strings where enums or names are required,
bad and oddly spelled CIDRs, port numbers and ranges at and past their bounds, named ports,
selectors with bad operators, names and label keys/values at and past their length limits
(ASCII and multi-byte, where bytes and characters differ), wrong JSON types, unknown fields.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

JSON = dict[str, Any]

def _biased(good: list[Any], edge: list[Any]) -> st.SearchStrategy[Any]:
    """Usually a good value, one time in six an edge one (most manifests stay valid enough
    that later fields are validated too)."""
    return st.integers(0, 5).flatmap(
        lambda roll: st.sampled_from(edge if roll == 3 else good))


NAMES = _biased(["web", "allow-frontend", "a", "dot.ted", "1234", "a" * 63, "a" * 253], [
    "a" * 64, "a" * 254, "", "Bad_Name", "-lead", "trail-", "UPPER", "ünicode", "x" * 62 + "é",
    "a..b"])
LABEL_KEYS = _biased(["app", "tier", "kubernetes.io/metadata.name", "example.com/team",
                      "a" * 63, "a" * 253 + "/k"], [
    "", "/app", "a/", "-app", "app-", "a" * 64, "a" * 254 + "/k", "Ünï", "a b", "a/b/c",
    "é" * 32])
LABEL_VALUES = _biased(["web", "", "a" * 63, "x_y.z", "v1.2"], [
    "a" * 64, "é" * 31, "é" * 32, "é" * 63, "é" * 64, "-web", "web-", "a b", "ünï", "日本"])
CIDRS = _biased(["10.0.0.0/8", "10.1.0.0/16", "192.168.1.0/24", "0.0.0.0/0", "::/0",
                 "fd00::/8", "2001:db8::/32", "169.254.169.254/32"], [
    "", "bad", "10.0.0.0/33", "1.2.3.4", "10.1.2.3/8", "010.0.0.0/8", "0.0.0.0/00",
    "::ffff:0.0.0.0/96", "10.0.0.0/ 8", " 10.0.0.0/8", "10.0.0.0/-1", "::/129",
    "0:0:0:0:0:0:0:0/0", "10.0.0.0/08"])
PROTOCOLS = _biased(["TCP", "UDP", "SCTP"], ["", "tcp", "ICMP", "Tcp"])
PORT_NUMBERS = _biased([1, 53, 80, 443, 8080, 65535], [0, 65536, -1, 2**31])
PORT_NAMES = _biased(["http", "dns", "a" * 15, "a--b", "web-1"], [
    "", "HTTP", "a" * 16, "80", "web-", "-web", "1-2", "ht tp", "é"])
OPERATORS = _biased(["In", "NotIn", "Exists", "DoesNotExist"], ["", "in", "Equals"])
POLICY_TYPES = _biased(["Ingress", "Egress"], ["", "ingress", "Other"])
UNKNOWN = st.sampled_from(["ingres", "form", "prot", "lables", "extra", "podselector"])
WRONG_TYPES: list[Any] = [True, 1, [], {}]




def _dict_without_none(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[JSON]:
    return st.fixed_dictionaries({}, optional=fields).map(
        lambda d: {k: v for k, v in d.items() if v is not None})


def _with_unknown(strategy: st.SearchStrategy[JSON], rate: int = 20
                  ) -> st.SearchStrategy[JSON]:
    """Now and then one unknown field (a typo) in the object."""
    @st.composite
    def build(draw: st.DrawFn) -> JSON:
        value = dict(draw(strategy))
        if draw(st.integers(0, rate)) == rate // 2:
            value[draw(UNKNOWN)] = draw(st.sampled_from([[], {}, "x", 1]))
        return value
    return build()


labels = st.dictionaries(LABEL_KEYS, LABEL_VALUES, max_size=2)

expressions = st.lists(_dict_without_none(
    key=LABEL_KEYS, operator=OPERATORS,
    values=st.lists(LABEL_VALUES, max_size=2)), max_size=2)

selectors = st.one_of(
    st.just({}),
    _with_unknown(_dict_without_none(matchLabels=labels, matchExpressions=expressions)),
)

ports = _with_unknown(_dict_without_none(
    protocol=PROTOCOLS,
    port=st.one_of(PORT_NUMBERS, PORT_NUMBERS, PORT_NAMES, _biased([80], WRONG_TYPES)),
    endPort=_biased([None, 8080, 65535], [0, 79, 65536, "90", True]),
))

ip_blocks = _with_unknown(_dict_without_none(cidr=_biased([None], WRONG_TYPES).flatmap(
                                                 lambda wrong: CIDRS if wrong is None
                                                 else st.just(wrong)),
                                             **{"except": st.lists(CIDRS, max_size=2)}))

peers = _with_unknown(st.one_of(
    st.fixed_dictionaries({"podSelector": selectors}),
    st.fixed_dictionaries({"namespaceSelector": selectors}),
    st.fixed_dictionaries({"podSelector": selectors, "namespaceSelector": selectors}),
    st.fixed_dictionaries({"ipBlock": ip_blocks}),
    _biased([None], [{"podSelector": {}}, {}]).flatmap(
        lambda bad: st.just(bad) if bad is not None else st.fixed_dictionaries(
            {"ipBlock": ip_blocks})),
    _biased([None], [True]).flatmap(
        lambda both: st.fixed_dictionaries({"ipBlock": ip_blocks, "podSelector": selectors})
        if both else st.fixed_dictionaries({"podSelector": selectors})),
))


def _rules(peer_key: str) -> st.SearchStrategy[JSON]:
    return _with_unknown(_dict_without_none(
        **{peer_key: st.lists(peers, max_size=2), "ports": st.lists(ports, max_size=2)}))


specs = _with_unknown(_dict_without_none(
    podSelector=selectors,
    policyTypes=st.lists(POLICY_TYPES, max_size=2),
    ingress=st.lists(_rules("from"), max_size=2),
    egress=st.lists(_rules("to"), max_size=2),
), rate=12)

metadata = _with_unknown(st.fixed_dictionaries(
    {"name": NAMES}, optional={"labels": labels, "annotations": labels}), rate=30)


@st.composite
def network_policies(draw: st.DrawFn) -> JSON:
    """One NetworkPolicy manifest as a user would write it (no namespace: it is sent to one)."""
    manifest: JSON = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                      "metadata": draw(metadata)}
    if draw(st.integers(0, 30)) > 0:
        manifest["spec"] = draw(specs)
    return manifest
