"""The deployment files agree with each other and with the settings (Docker cannot run here)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
from pathlib import Path

import yaml

from gateway.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def _cluster_module():
    loader = importlib.machinery.SourceFileLoader("cluster_script", str(REPO / "scripts" / "cluster"))
    spec = importlib.util.spec_from_loader("cluster_script", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_compose_runs_replicas_behind_nginx_with_postgres_and_models():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    gateways = [name for name in services if name.startswith("gateway-")]
    assert len(gateways) >= 2 and {"postgres", "nginx"} <= set(services)
    grace = Settings.load().server.shutdown_grace_s
    for name in gateways:
        service = services[name]
        assert "/health/ready" in " ".join(service["healthcheck"]["test"])
        assert int(service["stop_grace_period"].rstrip("s")) > grace  # SIGTERM drains before SIGKILL
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert any(v.endswith(":/models:ro") for v in service["volumes"])
        assert service["environment"]["GATEWAY_DATABASE_URL"].startswith("postgresql://")
    nginx = services["nginx"]
    mounted = nginx["volumes"][0].split(":")[0]
    assert (REPO / mounted).is_file()
    upstreams = re.findall(r"server\s+(gateway-\d+):8000", (REPO / mounted).read_text())
    assert sorted(upstreams) == sorted(gateways)


def test_gpu_override_reserves_nvidia_devices_and_uses_the_gpu_config():
    gpu = yaml.safe_load((REPO / "docker-compose.gpu.yml").read_text())
    for name in ("gateway-1", "gateway-2"):
        service = gpu["services"][name]
        device = service["deploy"]["resources"]["reservations"]["devices"][0]
        assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
        assert service["command"][-1] == "configs/gpu.yaml"
        assert service["build"]["args"]["VARIANT"] == "gpu"
    settings = Settings.load(REPO / "configs" / "gpu.yaml")
    assert all(m.device == "cuda" for m in settings.transcription.models.values())


def test_cluster_renders_the_compose_nginx_site_for_loopback(tmp_path):
    cluster = _cluster_module()
    site = (REPO / "deploy" / "nginx" / "audio-gateway.conf").read_text()
    replicas = [{"port": 9001}, {"port": 9002}, {"port": 9003}]
    rendered = cluster.render_site(site, 9000, replicas, tmp_path / "access.log")
    assert "listen 127.0.0.1:9000;" in rendered
    assert re.findall(r"server (\S+) max_fails=1 fail_timeout=5s;", rendered) == [
        "127.0.0.1:9001",
        "127.0.0.1:9002",
        "127.0.0.1:9003",
    ]
    assert "gateway-1" not in rendered and f"access_log {tmp_path / 'access.log'}" in rendered
    # everything else is the deployed file, line for line
    kept = [
        line
        for line in site.splitlines()
        if "# replica" not in line and "listen" not in line and "access_log" not in line
    ]
    assert all(line in rendered for line in kept)
