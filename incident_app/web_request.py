"""The app's request class: form and query values never carry a NUL character (issue 24).

PostgreSQL `text` cannot hold U+0000 (psycopg refuses the whole statement, a 500), SQLite keeps
it invisibly, and no person types one: it only arrives from a tool or an attack. It is dropped
from every form and query-string value (and name) as the request is parsed, before any form,
view or service sees it. JSON bodies (the API) are validated by their own schemas.
"""

from __future__ import annotations

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.datastructures import MultiDict
from werkzeug.utils import cached_property


def without_nul(values: MultiDict[str, str]) -> ImmutableMultiDict[str, str]:
    return ImmutableMultiDict(
        [
            (key.replace("\x00", ""), value.replace("\x00", ""))
            for key, value in values.items(multi=True)
        ]
    )


class CleanRequest(Request):
    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        super()._load_form_data()
        self.__dict__["form"] = without_nul(self.__dict__["form"])

    @cached_property
    def args(self) -> ImmutableMultiDict[str, str]:
        return without_nul(super().args)
