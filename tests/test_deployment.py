"""The deployment files people copy (compose.yaml, its Dockerfile, the systemd example in the
README) against the code: every setting they name is one MediaParser reads, the web app and
its workers share one data folder, and the settings they give are accepted. None of this
runs a container (the machine these were written on can fetch no images)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from app.config import Settings

REPO = Path(__file__).resolve().parent.parent
CONFIG_SOURCE = (REPO / "app" / "config.py").read_text()


def _compose() -> dict:
    return yaml.safe_load((REPO / "compose.yaml").read_text())


def _with_defaults(value: str) -> str:
    """`${NAME:-default}` as Compose fills it in when NAME is not set."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))


def _environment(service: dict) -> dict[str, str]:
    return {name: _with_defaults(value) for name, value in service["environment"].items()}


def _unknown_settings(names) -> list[str]:
    """Names that look like MediaParser settings but that app/config.py never reads."""
    return [n for n in names if n.startswith("MEDIAPARSER_") and f'"{n}"' not in CONFIG_SOURCE]


def test_compose_web_and_workers_share_one_data_folder_and_valid_settings():
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"web", "worker", "db", "queue"}
    web, worker = services["web"], services["worker"]
    settings = {}
    for name, service in (("web", web), ("worker", worker)):
        env = _environment(service)
        assert _unknown_settings(env) == [], f"{name}: settings MediaParser does not read"
        settings[name] = Settings.from_env(env=env)  # refused (ConfigError) when a value is wrong
        script = service["command"][-1]
        assert (REPO / script).is_file(), f"{name} runs {script}, which is not in the repository"
        mounts = {target: source for source, target, *_ in (_with_defaults(m).split(":") for m in service["volumes"])}
        assert mounts[env["MEDIAPARSER_DATA_DIR"]] == "data", f"{name}: the data folder is not the shared volume"
        for root in settings[name].import_roots:
            assert str(root) in mounts, f"{name}: the import folder {root} is not mounted"
    web_s, worker_s = settings["web"], settings["worker"]
    # what "Bigger than one machine" needs: one database, one queue, one data folder
    assert web_s.database_url == worker_s.database_url and web_s.database_url.startswith("postgresql+psycopg://")
    assert "@db:" in web_s.database_url and web_s.queue_url == worker_s.queue_url == "redis://queue:6379/0"
    assert web_s.instance_dir == worker_s.instance_dir and web_s.import_roots == worker_s.import_roots
    assert not web_s.embedded_worker  # the worker containers do the work
    assert web_s.host == "0.0.0.0" and web["ports"] == [f"127.0.0.1:{web_s.port}:{web_s.port}"]
    # the web app marks the data folder at start-up; a worker checks the mark (shared_storage.py)
    assert "web" in worker["depends_on"] and worker["deploy"]["replicas"] >= 2
    assert worker["stop_signal"] == "SIGTERM"  # what makes running jobs pause (worker.py)
    assert compose["volumes"].keys() >= {"data"}
    db_env = services["db"]["environment"]
    user, password = _with_defaults(db_env["POSTGRES_USER"]), _with_defaults(db_env["POSTGRES_PASSWORD"])
    assert f"://{user}:{password}@db:5432/{_with_defaults(db_env['POSTGRES_DB'])}" in web_s.database_url


def test_the_image_installs_the_drivers_the_compose_settings_need():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "-c constraints.txt" in dockerfile and ".[scale]" in dockerfile
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    drivers = " ".join(extras["scale"])
    assert "psycopg" in drivers and "redis" in drivers  # postgresql+psycopg:// and redis://
    for tool in ("ffmpeg", "libimage-exiftool-perl"):  # what "What the system packages add" names
        assert tool in dockerfile


def _readme_block(heading: str, language: str) -> str:
    section = (REPO / "README.md").read_text().split(heading, 1)[1]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match, f"no {language} block under {heading!r}"
    return match.group(1)


def test_the_systemd_example_names_real_settings_and_scripts():
    block = _readme_block("## Bigger than one machine", "ini")
    env = dict(re.findall(r"^([A-Z_]+)=(.*)$", block, re.M))
    assert {"MEDIAPARSER_DATA_DIR", "DATABASE_URL", "MEDIAPARSER_QUEUE"} <= env.keys()
    assert _unknown_settings(env) == []
    settings = Settings.from_env(env=env)
    assert settings.database_url.startswith("postgresql+psycopg://") and settings.queue_url.startswith("redis://")
    assert not settings.embedded_worker  # the worker units do the work
    scripts = re.findall(r"^ExecStart=\S+python (\S+)$", block, re.M)
    assert sorted(scripts) == ["run.py", "worker.py"]
    assert all((REPO / s).is_file() for s in scripts)


@pytest.mark.parametrize("name", ["MEDIAPARSER_WORKERS", "MEDIAPARSER_DATA_DIR", "MEDIAPARSER_QUEUE"])
def test_an_unknown_setting_would_be_caught(name):
    """The check above can fail: a misspelt setting is reported."""
    assert _unknown_settings([name + "S"]) == [name + "S"] and _unknown_settings([name]) == []
