"""Identity-protection enrollment codes (issue 23): the area that owns an incident's code pool.

`importing` reads the monitoring vendor's CSV into the pool, all or nothing (encrypted codes,
blind index for uniqueness); `assignment` gives each mail-merge recipient exactly one code
inside the chunk's transaction and refuses a mailing the pool cannot cover; `reading` is the
pool's status page, a person's code (audited) and the vendor export (audited); `offer` is the
offer printed in the letter and the state-required offer lengths beside it; `codes` holds the
encryption, `access` who may do what, and `carry` moves assigned codes to the same people's
new rows when a roster "replace" import commits. `importing.update_offer` edits the offer alone.
"""
