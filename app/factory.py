"""The app factory's body (kept out of app/__init__.py so that importing app.media in a
worker process does not pay for Flask, SQLAlchemy and Alembic)."""

from __future__ import annotations

import logging

from flask import Flask
from flask_migrate import Migrate

from .config import Settings, ensure_secret_key
from .database import MIGRATIONS_DIR, engine_options, ensure_sqlite_dir
from .models import db

migrate = Migrate()


def build_app(settings: Settings | None = None, **overrides) -> Flask:
    settings = settings or Settings.from_env(**overrides)
    for folder in (settings.instance_dir, settings.storage_dir):
        folder.mkdir(parents=True, exist_ok=True)
    ensure_sqlite_dir(settings.database_url)

    app = Flask(__name__, instance_path=str(settings.instance_dir))
    app.config.update(
        MEDIAPARSER=settings,
        SECRET_KEY=ensure_secret_key(settings),
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url),
        MAX_CONTENT_LENGTH=None,
        DEBUG=settings.debug,
    )
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)

    from . import cli, web

    web.init_app(app)
    cli.init_app(app)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # "Context impl SQLiteImpl" on every start
    logging.getLogger("huey").setLevel(logging.WARNING)  # a line per task run, every minute
    return app
