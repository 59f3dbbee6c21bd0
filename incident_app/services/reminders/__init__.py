"""How people hear about deadlines: the reminder sweep, in-app notifications (the bell) and the
per-user calendar feeds.
"""
