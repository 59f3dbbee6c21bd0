"""One loop for re-encrypting one encrypted column batch by batch (key rotation's contract in
services/key_rotation.py): read a batch with no write lock, re-encrypt outside any transaction,
write in a short transaction guarded by the old value, commit, go on.

A row changed between the read and the write keeps its new value (the old value is the guard);
if that value is still under an old key, the next run picks it up.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

# (row id, stored value, any further selected columns) -> the new stored value, or None when
# the value is already under the primary key (or holds nothing encrypted).
Reencrypt = Callable[[tuple[Any, ...]], Any]


def rotate_column(
    session: Session,
    *,
    table: sa.Table,
    column: str,
    extra: Sequence[str] = (),
    where: sa.ColumnElement[bool] | None = None,
    reencrypt: Reencrypt,
    batch_size: int,
) -> int:
    """Re-encrypt `table.column` row by row through `reencrypt`; how many values changed."""
    ids, value = table.c.id, table.c[column]
    columns = [ids, value, *(table.c[name] for name in extra)]
    rotated, last_id = 0, 0
    while True:
        query = sa.select(*columns).where(ids > last_id)
        if where is not None:
            query = query.where(where)
        batch = session.execute(query.order_by(ids).limit(batch_size)).all()
        if not batch:
            return rotated
        session.commit()  # the read ends here: no transaction is held while we decrypt
        updates = []
        for row in batch:
            new = reencrypt(tuple(row))
            if new is not None:
                updates.append({"b_id": row[0], "b_old": row[1], "b_new": new})
        if updates:
            session.execute(
                sa.update(table)
                .where(ids == sa.bindparam("b_id"), value == sa.bindparam("b_old"))
                .values({column: sa.bindparam("b_new")}),
                updates,
            )
        session.commit()
        rotated += len(updates)
        last_id = batch[-1][0]
