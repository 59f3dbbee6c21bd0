"""The inquiry log: calls, emails, letters and visits from individuals after the letters go out.

`lookup` finds who an inquiry is about (the letter code printed on their letter, or name + date
of birth through the roster's blind index: never a plaintext search, never the whole roster
decrypted); `recording` records, shows (decrypted, audited) and closes an inquiry, including
what a category sets off (a deceased notice marks the person deceased; a media inquiry goes to a
privacy officer); `listing` is the per-incident list (no PHI beyond initials unless a privacy
officer reveals names, audited), the inquiries-per-day chart, the CSV export and the follow-up
dates the reminder sweep and the calendar feed read; `followups` links an inquiry recorded as
not on the roster to the person, and records the new address an address change gave (through
services/roster/returned_letters.py). Returned mail is in services/roster/.
"""
