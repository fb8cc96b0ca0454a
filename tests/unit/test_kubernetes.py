"""The Kubernetes manifests render, validate against the schemas, and agree with the server they run.

No cluster runs here: every overlay is rendered with `kubectl kustomize`, checked against the
Kubernetes OpenAPI schemas (kubernetes-validate, strict: unknown fields fail) and KEDA's CRD schema
(tests/kubernetes/keda.sh_scaledobjects.yaml, KEDA's own CRD file, by jsonschema; strict too), and tied
to the app: probe paths are routes of the app `create_app` builds, the grace period covers the drain
settings and the drain a request's time budget, environment names are settings, the pod runs as the
Dockerfile's user, every path the server writes is a volume.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import BaseModel

from gateway.app import create_app
from gateway.middleware import BODY_SLACK_BYTES
from gateway.settings import Settings, _deep_update

REPO = Path(__file__).resolve().parents[2]
KUBE = REPO / "deploy" / "kubernetes"
OVERLAYS = ["cpu", "gpu", "autoscaling", "autoscaling-hpa"]
KEDA_CRD = REPO / "tests" / "kubernetes" / "keda.sh_scaledobjects.yaml"
KUBERNETES_VERSIONS = ["1.29", kubernetes_validate.latest_version()]  # oldest we claim, newest schemas shipped
UNLOAD_MARGIN_S = 5  # after the grace period the server unloads its models and exits


@cache
def _render(overlay: str) -> tuple[dict[str, Any], ...]:
    assert shutil.which("kubectl"), "kubectl is needed to render the manifests (kubectl kustomize)"
    directory = KUBE / "overlays" / overlay if overlay != "base" else KUBE / "base"
    done = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def _one(docs, kind: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"{kind}: {len(found)}"
    return found[0]


def _container(docs) -> dict[str, Any]:
    return _one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def _settings(docs, tmp_path: Path) -> Settings:
    """The settings a pod of this rendering runs with: its ConfigMap's file, as the container reads it."""
    config_map = _one(docs, "ConfigMap")
    container = _container(docs)
    config_arg = Path(container["args"][container["args"].index("--config") + 1])
    mount = next(m for m in container["volumeMounts"] if config_arg.is_relative_to(m["mountPath"]))
    volumes = _one(docs, "Deployment")["spec"]["template"]["spec"]["volumes"]
    volume = next(v for v in volumes if v["name"] == mount["name"])
    assert volume["configMap"]["name"] == config_map["metadata"]["name"]
    path = tmp_path / config_arg.name
    path.write_text(config_map["data"][str(config_arg.relative_to(mount["mountPath"]))])
    return Settings.load(path)


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with unknown fields refused, as `kubectl apply --validate=strict` does for a CRD.

    Every object with declared properties gets `additionalProperties: false`, unless the CRD keeps
    unknown fields there (`x-kubernetes-preserve-unknown-fields`) or declares a map.
    """
    out = {k: _strict(v) if isinstance(v, dict) else v for k, v in schema.items()}
    for key in ("items", "additionalProperties"):
        if isinstance(out.get(key), dict):
            out[key] = _strict(out[key])
    for key in ("anyOf", "allOf", "oneOf"):
        if key in out:
            out[key] = [_strict(s) for s in out[key]]
    if "properties" in out:
        out["properties"] = {name: _strict(s) for name, s in schema["properties"].items()}
        if "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    return out


@cache
def _keda_crd() -> tuple[jsonschema.protocols.Validator, tuple[str, ...]]:
    """KEDA's ScaledObject CRD (its own file, vendored): the strict validator and its CEL rules."""
    crd = yaml.safe_load(KEDA_CRD.read_text())
    assert (crd["kind"], crd["spec"]["group"], crd["spec"]["names"]["kind"]) == (
        "CustomResourceDefinition", "keda.sh", "ScaledObject"
    )  # fmt: skip
    (version,) = [v for v in crd["spec"]["versions"] if v["served"] and v["storage"]]
    schema = version["schema"]["openAPIV3Schema"]
    rules = tuple(rule["rule"] for rule in schema["properties"]["spec"].get("x-kubernetes-validations", []))
    strict = _strict(schema)
    jsonschema.Draft7Validator.check_schema(strict)
    return jsonschema.Draft7Validator(strict), rules


def _keda(scaled: dict[str, Any]) -> list[str]:
    """What KEDA's CRD refuses in a ScaledObject: schema errors, and its one CEL rule (checked by hand)."""
    assert (scaled["apiVersion"], scaled["kind"]) == ("keda.sh/v1alpha1", "ScaledObject"), scaled["kind"]
    validator, rules = _keda_crd()
    # The CEL rules the API server would evaluate; a new one in a newer CRD must be added here.
    min_le_max = (
        "!has(self.minReplicaCount) || self.minReplicaCount <= (has(self.maxReplicaCount) ? self.maxReplicaCount : 100)"
    )
    assert [" ".join(rule.split()) for rule in rules] == [min_le_max]
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(scaled)]
    spec = scaled.get("spec", {})
    if isinstance(spec.get("minReplicaCount"), int) and spec["minReplicaCount"] > spec.get("maxReplicaCount", 100):
        errors.append("spec: minReplicaCount must be less than or equal to maxReplicaCount")
    return errors


@pytest.mark.parametrize("overlay", ["base", *OVERLAYS])
def test_every_overlay_renders_and_validates_against_the_schemas(overlay: str):
    docs = _render(overlay)
    keda = [d for d in docs if d["apiVersion"].startswith("keda.sh/")]
    for doc in docs:
        if doc in keda:
            continue
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(doc, version, strict=True)
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "audio-gateway", doc["kind"]
        assert doc["metadata"]["labels"]["app.kubernetes.io/name"] == "audio-gateway", doc["kind"]
    for scaled in keda:
        assert _keda(scaled) == []
        assert scaled["metadata"]["namespace"] == "audio-gateway"
    assert [d["kind"] for d in keda] == (["ScaledObject"] if overlay == "autoscaling" else [])


def test_the_validators_refuse_broken_objects():
    """Both schemas fail where they should, so that a pass above means something."""
    deployment = copy.deepcopy(_one(_render("cpu"), "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/health"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)
    scaled = copy.deepcopy(_one(_render("autoscaling"), "ScaledObject"))
    assert _keda(scaled) == []
    scaled["spec"]["minReplicaCount"] = "one"
    del scaled["spec"]["triggers"][0]["type"]
    errors = _keda(scaled)
    assert any("minReplicaCount" in e for e in errors) and any("'type' is a required property" in e for e in errors)
    # Unknown fields, deep in the object too: the API server's strict field validation refuses them.
    scaled = copy.deepcopy(_one(_render("autoscaling"), "ScaledObject"))
    scaled["spec"]["pollingIntervall"] = 15
    behavior = scaled["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    behavior["scaleDown"]["stabilisationWindowSeconds"] = 1
    scaled["spec"]["triggers"][0]["metadata"]["threshold"] = 4  # trigger metadata is a map of strings
    errors = _keda(scaled)
    assert len(errors) == 3, errors
    assert any("pollingIntervall" in e for e in errors) and any("stabilisationWindowSeconds" in e for e in errors)
    # The CRD's CEL rule, which no JSON schema states.
    scaled = copy.deepcopy(_one(_render("autoscaling"), "ScaledObject"))
    scaled["spec"]["minReplicaCount"] = scaled["spec"]["maxReplicaCount"] + 1
    assert _keda(scaled) == ["spec: minReplicaCount must be less than or equal to maxReplicaCount"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_and_ports_are_routes_of_the_app(overlay: str, tmp_path: Path):
    docs = _render(overlay)
    settings = _settings(docs, tmp_path).model_copy(update={"data_dir": tmp_path})
    client = TestClient(create_app(settings))  # no lifespan: nothing loads; routes answer from their state
    container = _container(docs)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": settings.port}
    probes = {name: container[name]["httpGet"] for name in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes["livenessProbe"]["path"] == "/health" and probes["readinessProbe"]["path"] == "/health/ready"
    for name in ("startupProbe", "livenessProbe"):  # alive as soon as it serves HTTP
        assert client.get(probes[name]["path"]).status_code == 200
    ready = client.get(probes["readinessProbe"]["path"])  # the store is not open yet: not ready, saying why
    assert ready.status_code == 503 and ready.json()["status"] == "degraded"
    for probe in probes.values():
        assert probe["port"] in ports and probe.get("scheme", "HTTP") == "HTTP"
    annotations = _one(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    scraped = client.get(annotations["prometheus.io/path"])
    assert scraped.status_code == 200 and "gateway_requests_in_flight" in scraped.text
    assert int(annotations["prometheus.io/port"]) == settings.port
    assert client.get("/no-such-route").status_code == 404  # so the answers above come from real routes
    service = _one(docs, "Service")
    assert [(p["name"], p["targetPort"]) for p in service["spec"]["ports"]] == [("http", "http")]
    backend = _one(docs, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": service["metadata"]["name"], "port": {"name": "http"}}
    assert settings.host == "0.0.0.0"
    # Service, PodDisruptionBudget and NetworkPolicy select the Deployment's pods.
    labels = _one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    selectors = [
        service["spec"]["selector"],
        _one(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        _one(docs, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"],
        _one(docs, "Deployment")["spec"]["selector"]["matchLabels"],
    ]
    assert all(selector.items() <= labels.items() for selector in selectors)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_grace_period_covers_prestop_and_the_drain_settings(overlay: str, tmp_path: Path):
    docs = _render(overlay)
    server = _settings(docs, tmp_path).server
    pod = _one(docs, "Deployment")["spec"]["template"]["spec"]
    command = _container(docs)["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    pre_stop = float(command[1])
    assert pre_stop >= 5  # endpoints and ingress-nginx let go of the pod before SIGTERM
    assert server.drain_min_s > 0  # readiness reports draining before the listener closes
    needed = pre_stop + server.drain_min_s + server.shutdown_grace_s + UNLOAD_MARGIN_S
    assert pod["terminationGracePeriodSeconds"] >= needed
    # A request admitted just before SIGTERM may run for its whole time budget: the drain lets it
    # (shutdown_grace_s counts from SIGTERM), so a rollout or a scale-down never cuts one off.
    limits = _settings(docs, tmp_path).limits
    assert limits.request_timeout_s > 0 and server.shutdown_grace_s >= limits.request_timeout_s
    # The ingress waits longer for an answer than the gateway's own request budget.
    annotations = _one(docs, "Ingress")["metadata"]["annotations"]
    for name in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(annotations[f"nginx.ingress.kubernetes.io/{name}"]) > limits.request_timeout_s
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    body = int(annotations["nginx.ingress.kubernetes.io/proxy-body-size"].rstrip("m")) * 1024 * 1024
    assert body >= _settings(docs, tmp_path).transcription.max_upload_bytes + BODY_SLACK_BYTES


def _field(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """Walk one level of GATEWAY_A__B__C: the nested model of `name`, or None for a leaf."""
    assert name in model.model_fields, f"{name!r} is not a setting of {model.__name__}"
    annotation = model.model_fields[name].annotation
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_environment_names_are_settings(overlay: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    docs = _render(overlay)
    container = _container(docs)
    dockerfile = (REPO / "Dockerfile").read_text()
    names = [e["name"] for e in container["env"]] + re.findall(r"\b(GATEWAY_[A-Z_]+)=", dockerfile)
    for name in names:
        assert name.startswith("GATEWAY_"), name
        model: type[BaseModel] | None = Settings
        for part in name.removeprefix("GATEWAY_").lower().split("__"):
            assert model is not None, f"{name}: {part} goes below a plain setting"
            model = _field(model, part)
    # pydantic-settings reads them as the pod sets them.
    values = {"api-keys": "key-one,key-two", "database-url": "postgresql://gw:pw@db:5432/gateway", "limits.cpu": "2"}
    for env in container["env"]:
        source = env["valueFrom"].get("secretKeyRef") or env["valueFrom"]["resourceFieldRef"]
        if "name" in source:
            assert source["name"] == "audio-gateway-secrets"
        monkeypatch.setenv(env["name"], values[source.get("key") or source["resource"]])
    settings = _settings(docs, tmp_path)
    assert settings.api_keys == ["key-one", "key-two"]
    assert settings.storage.url == values["database-url"]
    assert settings.compute.cores == 2
    assert container["env"][-1]["valueFrom"]["resourceFieldRef"]["containerName"] == container["name"]
    cpu = container["resources"]["limits"]["cpu"]
    assert float(cpu) == int(cpu)  # the downward API rounds up: a whole number of cores is what the budget gets
    assert settings.limits.rate_limit.scope == "shared"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pod_runs_as_the_dockerfile_user_with_writable_volumes_only(overlay: str, tmp_path: Path):
    docs = _render(overlay)
    dockerfile = (REPO / "Dockerfile").read_text()
    uid = int(re.search(r"useradd [^\n]*--uid (\d+)", dockerfile).group(1))
    gid = int(re.search(r"groupadd [^\n]*--gid (\d+)", dockerfile).group(1))
    user = re.search(r"useradd [^\n]*?(\w+) \\?\n", dockerfile).group(1)
    assert re.search(rf"^USER {user}$", dockerfile, re.M)
    pod = _one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == uid and pod["securityContext"]["runAsGroup"] == gid
    assert pod["securityContext"]["fsGroup"] == gid and pod["securityContext"]["runAsNonRoot"] is True
    container = _container(docs)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    # Everything the server writes is on a volume: the data and cache directories, and /tmp.
    cache_dir = Path(re.search(r"GATEWAY_CACHE_DIR=(\S+)", dockerfile).group(1))
    settings = _settings(docs, tmp_path)
    writable = {Path(m["mountPath"]) for m in container["volumeMounts"] if not m.get("readOnly")}
    assert {settings.data_dir, cache_dir, Path("/tmp")} <= writable
    requests = container["resources"]["requests"]
    assert requests["memory"] and container["resources"]["limits"]["memory"]


def test_gpu_overlay_asks_for_a_gpu_and_runs_configs_gpu_yaml(tmp_path: Path):
    docs = _render("gpu")
    container = _container(docs)
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["image"].endswith(":gpu") and _container(_render("cpu"))["image"].endswith(":cpu")
    # The ConfigMap is configs/gpu.yaml with the Kubernetes settings of the base.
    expected = yaml.safe_load((REPO / "configs" / "gpu.yaml").read_text())
    _deep_update(expected, yaml.safe_load((KUBE / "base" / "gateway.yaml").read_text()))
    assert yaml.safe_load(_one(docs, "ConfigMap")["data"]["gateway.yaml"]) == expected
    settings = _settings(docs, tmp_path)
    assert all(m.device == "cuda" for m in settings.transcription.models.values())
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    for model in settings.transcription.models.values():
        if model.path is not None:
            assert any(model.path.is_relative_to(p) and m.get("readOnly") for p, m in mounts.items()), model.path
    assert _container(docs)["startupProbe"]["failureThreshold"] > _container(_render("cpu"))["startupProbe"][
        "failureThreshold"
    ]


@pytest.mark.parametrize("overlay", ["autoscaling", "autoscaling-hpa"])
def test_autoscalers_target_the_deployment_on_metrics_the_app_exports(overlay: str, tmp_path: Path):
    docs = _render(overlay)
    deployment = _one(docs, "Deployment")
    assert "replicas" not in deployment["spec"]  # the autoscaler owns the count
    settings = _settings(docs, tmp_path).model_copy(update={"data_dir": tmp_path})
    exported = create_app(settings).state.services.metrics.render().decode()
    if overlay == "autoscaling":
        scaled = _one(docs, "ScaledObject")
        assert scaled["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
        assert scaled["spec"]["minReplicaCount"] >= 1
        triggers = {t["name"]: t for t in scaled["spec"]["triggers"]}
        assert {t["type"] for t in triggers.values()} == {"prometheus"}
        queries = {name: t["metadata"]["query"] for name, t in triggers.items()}
        assert "gateway_queue_waiting" in queries["queue-waiting"]
        assert "gateway_requests_in_flight" in queries["requests-in-flight"]
        # One replica decodes `max_parallel` requests at once: more in flight than that is queueing.
        in_flight = float(triggers["requests-in-flight"]["metadata"]["threshold"])
        assert in_flight == settings.transcription.queue.max_parallel
        metrics = [re.match(r"\w+\(([a-z_]+)", q).group(1) for q in queries.values()]
    else:
        hpa = _one(docs, "HorizontalPodAutoscaler")
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "audio-gateway"}
        metrics = [m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Pods"]
    for name in metrics:
        assert re.search(rf"^{name}[{{ ]", exported, re.M), f"{name} is not exported at /metrics"
