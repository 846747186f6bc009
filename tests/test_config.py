"""Settings: defaults, instance/config.py, environment, and one clear line when wrong."""

import subprocess
import sys
from pathlib import Path

import pytest

from blogapp import create_app
from blogapp.config import ConfigError

ROOT = Path(__file__).parent.parent


def test_defaults_name_the_site(tmp_path, monkeypatch):
    monkeypatch.delenv("BLOG_TITLE", raising=False)
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/a.db"})
    assert app.config["BLOG_TITLE"] == "The AlliedUP Co-op Blog"
    assert app.config["BLOG_TAGLINE"] == "Healthcare news, advice, updates, and more."
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("BLOG_TITLE", "Co-op Notes")
    monkeypatch.setenv("RATELIMIT_ENABLED", "false")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example/blog")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    app = create_app()
    assert app.config["BLOG_TITLE"] == "Co-op Notes"
    assert app.config["RATELIMIT_ENABLED"] is False
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/blog"


@pytest.mark.parametrize(
    "name, value",
    [
        ("MAIL_PORT", "twenty-five"),
        ("RATELIMIT_ENABLED", "perhaps"),
        ("DATABASE_URL", "mysql://x"),
        ("BLOG_TIMEZONE", "Mars/Olympus"),
    ],
)
def test_wrong_setting_stops_with_its_name(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        create_app({"SECRET_KEY": "x"})
    assert name in str(raised.value.code)


def test_wrong_setting_is_one_line_not_a_traceback(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "MAIL_PORT": "abc",
        "SECRET_KEY": "x",
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "blogapp", "routes"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip() == "Configuration error: MAIL_PORT has an invalid value 'abc'"


def test_production_refuses_to_start_without_secret_key(tmp_path):
    script = (
        "from flask import Flask\n"
        "import blogapp.config as c\n"
        f"app = Flask('x', instance_path={str(tmp_path)!r})\n"
        "c.load_config(app, {'BLOG_ENV': 'production'})\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert "Configuration error: SECRET_KEY is missing" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_development_generates_a_secret_key_once(tmp_path):
    from flask import Flask

    from blogapp.config import load_config

    first, second = Flask("a", instance_path=str(tmp_path)), Flask("b", instance_path=str(tmp_path))
    load_config(first)
    load_config(second)
    key = (tmp_path / "secret_key").read_text()
    assert len(key) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_instance_config_file_is_read(tmp_path):
    from flask import Flask

    from blogapp.config import load_config

    (tmp_path / "config.py").write_text(
        "BLOG_TAGLINE = 'From the instance folder'\nSECRET_KEY = 'k'\n"
    )
    app = Flask("a", instance_path=str(tmp_path))
    load_config(app)
    assert app.config["BLOG_TAGLINE"] == "From the instance folder"
    assert app.config["SECRET_KEY"] == "k"
