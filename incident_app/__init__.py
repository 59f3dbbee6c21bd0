"""BreachDesk: HIPAA breach incident response and notification case manager."""

from __future__ import annotations

from flask import Flask

from config import Config
from config import config_from_env


def create_app(config_class: type[Config] | None = None) -> Flask:
    """Build the web app. Opens no connections and runs no migrations."""
    # Deferred: importing any incident_app module runs this file first, and web imports every
    # blueprint, command group and service. Helper processes (roster import, letter rendering)
    # and `python -m incident_app.cli.keys generate` must not pay for that; and the modules that
    # import create_app (scheduler.py, jobs/mail_merge.py) must find it defined.
    from incident_app import db
    from incident_app import web

    app = Flask(__name__, instance_path=str((config_class or Config).INSTANCE_DIR))
    app.config.from_object(config_class or config_from_env())
    web.configure_logging(app)
    web.require_secrets(app)
    web.init_keys(app)
    web.configure_passwords(app)
    db.init_app(app)
    web.bind_audit_keys(app)
    web.init_extensions(app)
    web.register_blueprints(app)
    web.register_error_handlers(app)
    web.register_request_hooks(app)
    web.register_commands(app)
    return app
