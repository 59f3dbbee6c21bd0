"""The letters area: from the case to approved notices and proof that they went out.

`generation.py` renders a letter from the case and stores the PDF as a new version;
`review.py` is legal review, with approval bound to the exact PDF bytes (and what the mail merge
starts from); `reading.py` is the audited reads (the Letters tab, a letter's page, verified
downloads, comparisons, the HHS JSON); `notice_wording.py` saves the texts letters print;
`wording.py` checks a notice against 164.404(c); `context.py` builds the template context from
the case; `notices.py` records that a notice went out and `proofs.py` keeps the proof files.
`reviewers.py` picks and notifies the legal reviewer a letter is sent to, `queue.py` is "Letters
awaiting my review", `preview.py` the page images and the changes since the last approval,
`revision.py` "edit wording and regenerate", `prepare.py` "prepare every letter this roster needs".
`access.py` (who may see, work on and approve letters) and `trail.py` (review events, audit and
timeline entries) are shared by the others. File stores are passed in, never fetched from the app.
"""
