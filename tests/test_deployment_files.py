"""docker-compose.yml and the Dockerfile stay consistent with the settings they feed."""

import re
import shutil
import subprocess

import pytest
import yaml

from tests.live_services import REPO

SETTINGS = (REPO / "webapp" / "settings.py").read_text()
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())


def settings_variables() -> set[str]:
    return set(re.findall(r'env_\w+\("([A-Z_]+)"', SETTINGS))


def test_every_compose_variable_is_read_by_the_settings():
    for name, service in COMPOSE["services"].items():
        for variable in service.get("environment", {}):
            assert variable in settings_variables() or name in ("postgres",), (name, variable)


def test_services_of_the_production_stack():
    services = COMPOSE["services"]
    assert {"postgres", "redis", "web", "worker-cpu", "worker-gpu"} <= set(services)
    assert (
        "-Q" in services["worker-cpu"]["command"] and "io,cpu" in services["worker-cpu"]["command"]
    )
    assert "gpu" in services["worker-gpu"]["command"]
    gpu = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["driver"] == "nvidia" and "gpu" in gpu["capabilities"]
    assert services["web"]["environment"]["SECRET_KEY"].startswith("${SECRET_KEY:?")


@pytest.mark.skipif(
    not (shutil.which("docker-compose") or shutil.which("docker")),
    reason="neither docker-compose nor docker is installed",
)
def test_compose_config_validates():
    command = ["docker-compose"] if shutil.which("docker-compose") else ["docker", "compose"]
    result = subprocess.run(
        [*command, "config", "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "SECRET_KEY": "x"},
        timeout=60,
    )
    if "unknown" in result.stderr and command == ["docker", "compose"]:
        pytest.skip("this docker client has no compose plugin")
    assert result.returncode == 0, result.stderr
