"""Small helpers shared by views: capability checks and mapping service errors onto forms."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from typing import TypeVar

from flask_login import current_user
from flask_login import login_required
from flask_wtf import FlaskForm

from incident_app.access import Capability
from incident_app.access import can
from incident_app.errors import NotAllowed
from incident_app.errors import ValidationFailed

F = TypeVar("F", bound=Callable[..., Any])


def capability_required(capability: Capability) -> Callable[[F], F]:
    """Sign-in plus a role capability; NotAllowed becomes the audited 403 page."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not can(current_user, capability):
                raise NotAllowed("Your role does not give access to this page.")
            return view(*args, **kwargs)

        return login_required(wrapped)  # type: ignore[return-value]

    return decorator


def show_on_form(form: FlaskForm, error: Exception) -> None:
    """Put a service's ValidationFailed on the field it names (or the form as a whole).

    Other errors a view shows on its form (InvalidTransition, a render error) name no field:
    their message goes above the form."""
    name = error.field if isinstance(error, ValidationFailed) else None
    field = getattr(form, name, None) if name else None
    if field is not None:
        field.errors = [*field.errors, str(error)]
    else:
        form.form_errors.append(str(error))
