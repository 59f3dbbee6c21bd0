"""How people hear about deadlines. The reminder sweep (`sweep`: which reminder points are due,
each inserted once) over `deadlines` (what can be reminded of), `plans` (when), `recipients`
(who), `messages` (what a reminder says) and the email `outbox`; in-app `notifications` (the
bell) and the per-user `calendar_feed`.
"""
