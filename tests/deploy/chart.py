"""Lints and renders the Helm chart deploy/helm/nectar offline (helm-python-sdk, the Helm
v4 library without a helm binary or a cluster) with each values file of its ci/ folder,
validates every rendered object against the Kubernetes schemas in strict mode
(kubernetes-validate --strict), checks the rendered nectar.toml with
`nectar --check-config`, checks the security context each port driver gets, and checks
that deploy/k8s/nectar.yaml is the chart rendered with deploy/k8s/values.yaml.

usage: chart.py ROOT NECTAR_BIN [--write]   (--write re-renders deploy/k8s/nectar.yaml)
Prints "ok <check>" lines; exits non-zero on failure.
"""

import json
import os
import subprocess
import sys
import tempfile

import helm_python as helm
import yaml

# Object kinds whose schemas are not Kubernetes' own (CRDs): checked for shape only.
CRD_KINDS = {"ServiceMonitor", "NetworkAttachmentDefinition"}


def load_values(values_file):
    with open(values_file) as f:
        return yaml.safe_load(f) or {}


def render_text(chart, values_file, name="nectar"):
    """The manifests as `helm template` prints them."""
    manifests = chart.render(values=load_values(values_file), name=name, namespace="default")
    out = []
    for path in sorted(manifests):
        if path.endswith("NOTES.txt") or not manifests[path].strip():
            continue
        out.append(f"---\n# Source: {path}\n{manifests[path].strip()}\n")
    return "".join(out)


def render(chart, values_file, name="nectar"):
    return [d for d in yaml.safe_load_all(render_text(chart, values_file, name)) if d]


def validate(docs, where):
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, doc in enumerate(docs):
            if doc["kind"] in CRD_KINDS:
                assert doc["apiVersion"] and doc["metadata"]["name"] and doc["spec"], doc
                continue
            path = os.path.join(tmp, f"{i:02d}-{doc['kind']}.yaml")
            with open(path, "w") as f:
                yaml.safe_dump(doc, f)
            files.append(path)
        out = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "kubernetes-validate"), "--strict", "--quiet", *files],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, f"{where}: kubernetes-validate:\n{out.stdout}{out.stderr}"


def check_config(docs, nectar, where):
    cms = [d for d in docs if d["kind"] == "ConfigMap"]
    assert len(cms) == 1, where
    with tempfile.NamedTemporaryFile("w", suffix=".toml") as f:
        f.write(cms[0]["data"]["nectar.toml"])
        f.flush()
        out = subprocess.run([nectar, "--check-config", f.name], capture_output=True, text=True)
        assert out.returncode == 0, f"{where}: nectar --check-config:\n{out.stderr}\n{cms[0]['data']['nectar.toml']}"
    return cms[0]["data"]["nectar.toml"]


def container(docs):
    sts = [d for d in docs if d["kind"] == "StatefulSet"]
    assert len(sts) == 1
    return sts[0], sts[0]["spec"]["template"]["spec"]["containers"][0]


def main():
    root, nectar = sys.argv[1], sys.argv[2]
    write = "--write" in sys.argv
    chart_dir = os.path.join(root, "deploy/helm/nectar")
    chart = helm.Chart.load(chart_dir)

    ci = os.path.join(chart_dir, "ci")
    rendered = {}
    for name in sorted(os.listdir(ci)):
        # helm lint --strict: warnings count as errors (severity 2 and up).
        lint = helm.lint(chart_dir, load_values(os.path.join(ci, name)), strict=True)
        bad = [m for m in lint["messages"] if m["severity"] >= 2]
        assert not lint["errors"] and not bad, f"{name}: helm lint: {lint}"
        docs = render(chart, os.path.join(ci, name))
        validate(docs, name)
        toml = check_config(docs, nectar, name)
        rendered[name] = (docs, toml)
        print(f"ok lint-render-validate-check-config {name}", flush=True)

    # The security context follows the ports.
    docs, toml = rendered["pg-values.yaml"]
    sts, c = container(docs)
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 65532, sc
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, sc
    assert sc["capabilities"] == {"drop": ["ALL"]}, sc
    assert "password_hash_file = \"/etc/nectar/users/admin.hash\"" in toml, toml
    secret = [d for d in docs if d["kind"] == "Secret"][0]
    assert set(secret["stringData"]) == {"admin.hash", "prometheus.hash", "prometheus.authorized_keys"}, secret
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz", c
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz", c
    assert c["readinessProbe"]["httpGet"]["scheme"] == "HTTPS", c
    claims = sts["spec"]["volumeClaimTemplates"]
    assert claims[0]["metadata"]["name"] == "state", claims
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts["state"] == "/var/lib/nectar", mounts
    ports = {p["name"]: p["port"] for p in [d for d in docs if d["kind"] == "Service"][0]["spec"]["ports"]}
    assert ports == {"netconf": 830, "restconf": 443, "gnmi": 9339, "metrics": 9464}, ports
    print("ok pg: non-root, no capabilities, probes, state claim, service ports", flush=True)

    docs, toml = rendered["afpacket-values.yaml"]
    sts, c = container(docs)
    sc = c["securityContext"]
    assert sc["capabilities"] == {"drop": ["ALL"], "add": ["NET_RAW"]}, sc
    assert sc["runAsUser"] == 0, sc  # see the template: no ambient capabilities
    annotations = sts["spec"]["template"]["metadata"]["annotations"]
    assert json.loads(annotations["k8s.v1.cni.cncf.io/networks"]) == [
        {"name": "nectar-uplink", "interface": "net1"}
    ], annotations
    kinds = {d["kind"] for d in docs}
    assert {"ServiceMonitor", "NetworkAttachmentDefinition"} <= kinds, kinds
    assert "Secret" not in kinds, kinds  # the existing one is used
    assert 'cert_file = "/etc/nectar/tls/tls.crt"' in toml, toml
    assert 'driver = "afpacket"' in toml and 'host_interface = "net1"' in toml, toml
    print("ok afpacket: capabilities, Multus annotation, NAD, ServiceMonitor, TLS secret", flush=True)

    docs, toml = rendered["memif-values.yaml"]
    sts, c = container(docs)
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["capabilities"] == {"drop": ["ALL"]}, sc
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts["memif"] == "/run/memif" and mounts["tmp"] == "/tmp", mounts
    assert c["readinessProbe"]["httpGet"]["scheme"] == "HTTP", c
    assert 'host_key_file = "/etc/nectar/ssh/ssh_host_key"' in toml, toml
    assert "scrape_group" not in toml, toml
    print("ok memif: non-root, socket volume, host key secret, plain metrics", flush=True)

    docs, toml = rendered["tap-values.yaml"]
    sts, c = container(docs)
    sc = c["securityContext"]
    assert sc["capabilities"] == {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW"]}, sc
    assert 'driver = "tap"' in toml and 'devargs = "net_af_packet0,iface=net1"' in toml, toml
    print("ok tap + dpdk af_packet: NET_ADMIN and NET_RAW", flush=True)

    # Without users the chart refuses to render: there is no default password.
    try:
        chart.render(values={}, name="nectar", namespace="default")
        raise AssertionError("rendered without users")
    except helm.HelmError as e:
        assert "no default password" in str(e), e
    print("ok no-users-refused", flush=True)

    # deploy/k8s/nectar.yaml is the chart rendered with deploy/k8s/values.yaml.
    values = os.path.join(root, "deploy/k8s/values.yaml")
    docs = render(chart, values)
    validate(docs, "deploy/k8s/values.yaml")
    check_config(docs, nectar, "deploy/k8s/values.yaml")
    text = (
        "# Rendered from deploy/helm/nectar with deploy/k8s/values.yaml (release nectar,\n"
        "# namespace default) by tests/deploy/chart.py --write. Do not edit: change the chart.\n"
        + render_text(chart, values)
    )
    target = os.path.join(root, "deploy/k8s/nectar.yaml")
    if write:
        with open(target, "w") as f:
            f.write(text)
    with open(target) as f:
        assert f.read() == text, "deploy/k8s/nectar.yaml is stale: run tests/deploy/chart.py ROOT BIN --write"
    print("ok deploy/k8s/nectar.yaml up to date", flush=True)


if __name__ == "__main__":
    main()
