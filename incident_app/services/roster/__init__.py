"""The roster area: the upload checks, the import worker and its staging, row building, normalisers,
column mapping, duplicate merging, the helper-process pool, and the people, counts and exports.
"""
