"""Mailing forms: every action is a POST button carrying only the CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm


class ButtonForm(FlaskForm):
    """A POST button: only the CSRF token."""
