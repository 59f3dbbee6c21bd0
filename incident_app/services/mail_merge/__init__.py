"""The mail-merge area: every person on the roster gets their own notice from the approved
letter. `planning` sorts the roster into routes and variants and names the approvals needed;
`batches` starts a batch (chunks, the `proof`, the approved template files kept by
`snapshots`) and pauses, resumes, cancels or retries it; `worker` claims chunks (SKIP LOCKED),
loads the batch's template snapshot and has `chunk_run` render them through `pdfs` with the
`recipients`' window blocks and email notices, then writes each chunk's print file and
manifest (`manifests`); `progress`, `pages` and `downloads` serve the Mailing tab.
"""
