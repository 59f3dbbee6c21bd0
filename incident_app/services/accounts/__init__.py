"""Accounts and sign-in: users, passwords and lockout, TOTP second factor, server-side sessions,
and personal API tokens.
"""
