"""Types and rules shared by loyalty's services and selectors (and by staff and the interfaces).

Nothing here reads or writes the database: who acts (``actors``), how a card
is named (``cards``), card identifiers (``identifiers``) and the stamp-day
rules (``stamp_days``). Selectors import from here, never from services.
"""
