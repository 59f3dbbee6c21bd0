"""The mail-merge area: planning a mailing from approved letters, batch control, the worker that
renders chunks, recipient contexts, manifests, progress and downloads.
"""
