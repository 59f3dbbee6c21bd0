"""The letters area: generating notices from the approved wording, legal review bound to the exact
PDF bytes, the 164.404(c) wording checks, the template context, and proof that notices went out.
"""
