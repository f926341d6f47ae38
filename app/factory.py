"""The app factory's body (kept out of app/__init__.py so that importing app.media in a
worker process does not pay for Flask, SQLAlchemy and Alembic)."""

from __future__ import annotations

from flask import Flask
from flask_migrate import Migrate

from . import tasks
from .config import Settings, ensure_secret_key
from .database import MIGRATIONS_DIR, engine_options, ensure_sqlite_dir
from .models import db

migrate = Migrate()


def build_app(settings: Settings) -> Flask:
    """The web app, its database and its job queue, all from `settings` (nothing is read
    from the environment here; process-wide set-up is the entry points' job)."""
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
    tasks.init_app(app, settings)

    from . import cli, web

    web.init_app(app)
    cli.init_app(app)
    return app
