"""Static checks of the deployment files (no container engine is available to build them here)."""
import json
import re
from pathlib import Path

import yaml

DOCKER = Path(__file__).resolve().parents[1] / "docker"


def test_dockerfile_is_multistage_ros_jazzy_and_runs_unprivileged():
    text = (DOCKER / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\w+))?", text, re.M)
    assert len(stages) >= 2, "multi-stage build expected"
    assert all(img.startswith("ros:${ROS_DISTRO}") for img, _ in stages)
    assert re.search(r"^ARG ROS_DISTRO=jazzy$", text, re.M)
    assert "colcon build" in text and "--from=build" in text
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0"), "the runtime stage must run as a non-root user"
    assert (DOCKER / "entrypoint.sh").read_text().startswith("#!/bin/bash")


def test_compose_prometheus_grafana_are_consistent():
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    assert {"intent_shared_control", "prometheus", "grafana"} <= set(services)
    port = re.search(r"metrics_port:=(\d+)", services["intent_shared_control"]["command"]).group(1)
    prom = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
    targets = [t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]]
    assert f"127.0.0.1:{port}" in targets, "Prometheus must scrape the port the system serves /metrics on"
    dash = json.loads((DOCKER / "grafana" / "dashboards" / "intent_shared_control.json").read_text())
    exprs = " ".join(t["expr"] for p in dash["panels"] for t in p["targets"])
    for metric in ("decision_latency_seconds_bucket", "rejections_total", "safety_interventions_total",
                   "stops_total", "lifecycle_state"):
        assert f"intent_shared_control_{metric}" in exprs, metric
