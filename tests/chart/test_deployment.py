"""The webhook's Deployment, Service, PodDisruptionBudget and NOTES: available, restricted, and
started with flags the server understands."""

from __future__ import annotations

import argparse
import importlib.util

import helm_python as helm
import pytest

from tests.chart.rendering import (
    KUBE_VERSIONS,
    SCENARIOS,
    Rendered,
    render_chart,
    render_scenario,
)


def pod_spec(rendered: Rendered) -> dict:
    return rendered.one("Deployment")["spec"]["template"]["spec"]


def serve_parser() -> argparse.ArgumentParser:
    from webhook.cli import serve

    parser = argparse.ArgumentParser(prog="netpol-guard serve", exit_on_error=False)
    serve.add_arguments(parser)
    return parser


def test_three_replicas_by_default(default_render: Rendered) -> None:
    deployment = default_render.one("Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_pdb_only_when_more_than_one_replica(scenario: str) -> None:
    rendered = render_scenario(scenario)
    replicas = rendered.one("Deployment")["spec"]["replicas"]
    pdbs = rendered.of_kind("PodDisruptionBudget")
    if replicas > 1:
        [pdb] = pdbs
        assert pdb["spec"]["minAvailable"] >= 1
        assert pdb["spec"]["selector"]["matchLabels"] == (
            rendered.one("Deployment")["spec"]["selector"]["matchLabels"])
    else:
        assert pdbs == []


@pytest.mark.parametrize("replicas", [1, 2])
def test_pdb_follows_the_replica_count(replicas: int) -> None:
    assert len(render_chart({"replicas": replicas}).of_kind("PodDisruptionBudget")) == (
        replicas - 1)


def test_pdb_that_would_block_every_drain_is_refused() -> None:
    with pytest.raises(helm.HelmError, match="minAvailable"):
        render_chart({"replicas": 2, "podDisruptionBudget": {"minAvailable": 2}})
    pdb = render_chart({"replicas": 2, "podDisruptionBudget": {"minAvailable": "50%"}}).one(
        "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == "50%"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_security_context_is_restricted(scenario: str) -> None:
    spec = pod_spec(render_scenario(scenario))
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert isinstance(pod["runAsUser"], int) and pod["runAsUser"] > 0
    assert isinstance(pod["runAsGroup"], int) and pod["runAsGroup"] > 0
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    [container] = spec["containers"]
    context = container["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context.get("privileged", False) is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert "add" not in context["capabilities"]
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC")


def test_uid_can_be_left_to_the_platform() -> None:
    """OpenShift's restricted SCC assigns the UID: null omits it, runAsNonRoot stays."""
    values = {"securityContext": {"runAsUser": None, "runAsGroup": None, "fsGroup": None}}
    spec = pod_spec(render_chart(values))
    assert "runAsUser" not in spec["securityContext"]
    assert spec["securityContext"]["runAsNonRoot"] is True


def test_probes_use_https_health_endpoints(default_render: Rendered) -> None:
    container = default_render.container()
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
                        ("startupProbe", "/healthz")):
        assert container[probe]["httpGet"] == {"path": path, "port": "https", "scheme": "HTTPS"}


def test_resources_are_set(default_render: Rendered) -> None:
    resources = default_render.container()["resources"]
    assert resources["requests"]["cpu"] and resources["requests"]["memory"]
    assert resources["limits"]["memory"]


def test_policy_configmap_is_mounted_as_a_directory(default_render: Rendered) -> None:
    """Never subPath: the kubelet updates ConfigMap files only in directory mounts."""
    spec = pod_spec(default_render)
    container = default_render.container()
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    for mount in container["volumeMounts"]:
        assert "subPath" not in mount and "subPathExpr" not in mount
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
    policy = mounts["/etc/netpol-guard"]
    assert volumes[policy["name"]]["configMap"]["name"] == "netpol-guard-policy"
    tls = mounts["/tls"]
    assert volumes[tls["name"]]["secret"]["secretName"] == "netpol-guard-tls"
    tmp = mounts["/tmp"]
    assert "emptyDir" in volumes[tmp["name"]]
    assert {"name": "TMPDIR", "value": "/tmp"} in container["env"]


def test_external_policy_configmap_is_mounted_and_named_to_the_server() -> None:
    rendered = render_scenario("external-policy-configmap")
    assert rendered.of_kind("ConfigMap") == []
    volumes = {volume["name"]: volume for volume in pod_spec(rendered)["volumes"]}
    assert volumes["policy"]["configMap"]["name"] == "platform-netpol-guard-policy"
    args = rendered.container()["args"]
    assert args[args.index("--policy-configmap") + 1] == "platform-netpol-guard-policy"


def test_external_policy_configmap_needs_a_name() -> None:
    with pytest.raises(helm.HelmError, match="policyConfigMap.name is required"):
        render_chart({"policyConfigMap": {"create": False}})


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_container_args_point_at_the_mounted_files(scenario: str) -> None:
    rendered = render_scenario(scenario)
    args = rendered.container()["args"]
    flags = dict(zip(args[::2], args[1::2], strict=False))
    assert flags["--bind"] == "0.0.0.0:8443"
    assert flags["--cluster-source"] == "kubernetes"
    mounts = [mount["mountPath"] for mount in rendered.container()["volumeMounts"]]
    for flag in ("--cert", "--key", "--policy"):
        assert any(flags[flag].startswith(path + "/") for path in mounts), flag
    configmaps = rendered.of_kind("ConfigMap")
    if configmaps:
        assert flags["--policy-configmap"] == configmaps[0]["metadata"]["name"]
        assert flags["--policy"].rsplit("/", 1)[1] in configmaps[0]["data"]
    timeout = int(flags["--timeout"])
    assert all(timeout < hook["timeoutSeconds"] for hook in rendered.webhooks().values())


@pytest.mark.skipif(importlib.util.find_spec("webhook.cli.serve") is None,
                    reason="webhook/cli/serve.py (netpol-guard serve) does not exist yet")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_container_args_parse_with_the_real_serve_command(scenario: str) -> None:
    args = render_scenario(scenario).container()["args"]
    parsed = serve_parser().parse_args(args)
    assert parsed.cluster_source == "kubernetes"
    from webhook.cli.flags import serve_cluster_source

    assert serve_cluster_source(parsed, default="inventory") == "kubernetes"  # no conflict
    assert parsed.bind == "0.0.0.0:8443"


def test_serve_parser_refuses_unknown_flags() -> None:
    """The check above can fail: a flag the server does not know is refused."""
    if importlib.util.find_spec("webhook.cli.serve") is None:
        pytest.skip("webhook/cli/serve.py (netpol-guard serve) does not exist yet")
    with pytest.raises((argparse.ArgumentError, SystemExit)):
        serve_parser().parse_args(["--no-such-flag", "1"])


def test_gunicorn_timeout_must_stay_below_the_webhook_timeout() -> None:
    with pytest.raises(helm.HelmError, match="must be below webhooks.timeoutSeconds"):
        render_chart({"server": {"timeout": 3}})


def test_grace_period_must_cover_pre_stop_and_graceful_shutdown() -> None:
    with pytest.raises(helm.HelmError, match="terminationGracePeriodSeconds"):
        render_chart({"terminationGracePeriodSeconds": 20, "preStopSleepSeconds": 5})


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_pre_stop_uses_the_sleep_action_from_1_30_and_python_before(kube_version: str) -> None:
    container = render_scenario("default", kube_version).container()
    pre_stop = container["lifecycle"]["preStop"]
    if tuple(int(part) for part in kube_version.split(".")) >= (1, 30):
        assert pre_stop == {"sleep": {"seconds": 5}}
    else:
        assert pre_stop["exec"]["command"][:2] == ["python", "-c"]
        assert "time.sleep(5)" in pre_stop["exec"]["command"][2]
    spec = pod_spec(render_scenario("default", kube_version))
    assert spec["terminationGracePeriodSeconds"] > 5


def test_no_pre_stop_when_disabled() -> None:
    assert "lifecycle" not in render_chart({"preStopSleepSeconds": 0}).container()


def test_replicas_spread_over_nodes_and_zones(default_render: Rendered) -> None:
    spec = pod_spec(default_render)
    selector = default_render.one("Deployment")["spec"]["selector"]["matchLabels"]
    anti_affinity = spec["affinity"]["podAntiAffinity"]
    [preferred] = anti_affinity["preferredDuringSchedulingIgnoredDuringExecution"]
    assert preferred["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert preferred["podAffinityTerm"]["labelSelector"]["matchLabels"] == selector
    [zone] = spec["topologySpreadConstraints"]
    assert zone["topologyKey"] == "topology.kubernetes.io/zone"
    assert zone["labelSelector"]["matchLabels"] == selector
    assert zone["matchLabelKeys"] == ["pod-template-hash"]


def test_hard_anti_affinity_and_priority_class() -> None:
    spec = pod_spec(render_scenario("hardened"))
    assert spec["priorityClassName"] == "platform-critical"
    required = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert required[0]["topologyKey"] == "kubernetes.io/hostname"
    assert "priorityClassName" not in pod_spec(render_scenario("default"))


def test_client_ca_is_mounted_and_passed() -> None:
    rendered = render_scenario("hardened")
    args = rendered.container()["args"]
    assert args[args.index("--client-ca") + 1] == "/client-ca/ca.crt"
    volumes = {volume["name"]: volume for volume in pod_spec(rendered)["volumes"]}
    assert volumes["client-ca"]["secret"]["secretName"] == "apiserver-webhook-client-ca"
    assert "--client-ca" not in render_scenario("default").container()["args"]


def test_image_digest_wins_over_the_tag() -> None:
    assert render_scenario("hardened").container()["image"].endswith("@sha256:" + "0" * 64)
    assert render_scenario("default").container()["image"] == (
        "ghcr.io/netpol-guard/netpol-guard:0.1.0")


def test_selector_labels_are_the_app_kubernetes_io_set(default_render: Rendered) -> None:
    selector = default_render.one("Deployment")["spec"]["selector"]["matchLabels"]
    assert selector == {"app.kubernetes.io/name": "netpol-guard",
                        "app.kubernetes.io/instance": "netpol-guard",
                        "app.kubernetes.io/component": "webhook"}
    for obj in default_render.objects:
        labels = obj["metadata"]["labels"]
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance",
                    "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart"):
            assert key in labels, f"{obj['kind']}/{obj['metadata']['name']} lacks {key}"


def test_notes_warn_about_a_single_replica() -> None:
    notes = render_scenario("single-replica").notes
    assert "WARNING: replicas is 1" in notes
    assert "WARNING" not in render_scenario("default").notes


def test_notes_show_a_command_that_gets_rejected(default_render: Rendered) -> None:
    notes = default_render.notes
    assert "kubectl -n np-demo apply -f -" in notes
    assert "ingress: [{}]" in notes
    assert 'admission webhook "networkpolicies.netpol-guard.io" denied' in notes


def test_notes_warn_when_match_conditions_are_dropped() -> None:
    assert "matchConditions set in" in render_scenario("custom-policy", "1.29").notes
    assert "matchConditions set in" not in render_scenario("custom-policy", "1.30").notes
