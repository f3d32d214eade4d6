"""The words the till's JavaScript shows, translated on the server into the staff's language.

They go into the page as one JSON block, so the till has one translation
system, the site's gettext catalogs. ``%(name)s`` placeholders are filled in
by the script. Every error code the API can answer has its own message here
(``tests/till/test_views.py`` checks that against the code), so staff never
see a raw code.
"""

from django.utils.translation import gettext_lazy as _

from loyalty.models import TransactionType

# What the till says about each API error code. Details the API sends
# (minutes left, attempts left, a time) are filled in by the script.
ERRORS = {
    # Sign-in and access
    "NOT_AUTHENTICATED": _("Your session has ended (signed out, expired or access withdrawn). Please sign in again."),
    "SIGN_IN_FAILED": _("Wrong username or password."),
    "PERMISSION_DENIED": _("Your account may not do this at this store."),
    "THROTTLED": _("Too many attempts. Try again in %(seconds)s s."),
    # Cards and programs
    "CARD_NOT_FOUND": _("No card found. Check the number or scan again."),
    "CUSTOMER_NOT_FOUND": _("No such customer."),
    "CARD_INACTIVE": _("This card is deactivated."),
    "PROGRAM_NOT_FOUND": _("This shop has no loyalty program yet."),
    "PROGRAM_INACTIVE": _("The loyalty program is paused."),
    "PROGRAM_TYPE_MISMATCH": _("The program does not offer this."),
    "REWARD_NOT_FOUND": _("This reward is no longer in the catalog."),
    "STORE_NOT_FOUND": _("Unknown store code."),
    "TRANSACTION_NOT_FOUND": _("That operation was not found on this card."),
    "STAFF_PIN_NOT_FOUND": _("Unknown staff PIN."),
    "NOT_FOUND": _("Not found."),
    # Rules
    "STAMP_COOLDOWN": _("Too soon for another stamp: wait %(minutes)s min (until %(time)s)."),
    "DAILY_STAMP_LIMIT": _("This card has had today's stamps (%(count)s of %(max)s). Next stamp tomorrow."),
    "INSUFFICIENT_STAMPS": _("Not enough stamps for the reward yet."),
    "INSUFFICIENT_POINTS": _("Not enough points for this reward."),
    "BELOW_MINIMUM_PURCHASE": _("The purchase is below the minimum for points (%(amount)s)."),
    "NOTHING_TO_VOID": _("There is nothing left to take back."),
    "ALREADY_VOIDED": _("This operation was already taken back."),
    "ALREADY_ENROLLED": _("This customer already has a card."),
    "ENROLLMENT_CLOSED": _("Enrollment is closed for this program."),
    "PROGRAM_EXISTS": _("This shop already has a loyalty program."),
    "IDEMPOTENCY_CONFLICT": _("This order reference was already used for another card or amount."),
    "REQUEST_IN_PROGRESS": _("The same operation is still being processed. Check the card in a moment."),
    "CONFLICT": _("Someone changed this card at the same time. Check the card and try again."),
    # Staff PINs
    "STAFF_PIN_REQUIRED": _("Enter your staff PIN."),
    "STAFF_PIN_INVALID": _("Wrong PIN."),
    "STAFF_PIN_LOCKED": _("Too many wrong PINs: PIN entry is locked until %(time)s."),
    # The request itself
    "VALIDATION_ERROR": _("Something in the form is not right. Check it and try again."),
    "REQUEST_TOO_LARGE": _("The request is too large."),
    "METHOD_NOT_ALLOWED": _("The till sent a request the server does not accept. Reload the till."),
    "NOT_ACCEPTABLE": _("The till sent a request the server does not accept. Reload the till."),
    "UNSUPPORTED_MEDIA_TYPE": _("The till sent a request the server does not accept. Reload the till."),
    "LOYALTY_ERROR": _("The operation could not be completed."),
    # The server or the network
    "SERVICE_UNAVAILABLE": _("The server is busy. Try again in a moment."),
    "SERVER_ERROR": _("Something went wrong on the server. Try again; if it goes on, tell the shop owner."),
    "NETWORK": _("No connection to the server. Check the Wi-Fi and try again."),
    "UNKNOWN": _("Something went wrong. Try again."),
}

MESSAGES = {
    # Sign-in
    "signed_out": _("Signed out."),
    "signing_in": _("Signing in…"),
    "sign_in_no_store": _("This account has no access to this store: check the store code."),
    "sign_in_missing": _("Fill in the username, the password and the store code."),
    # Finding a card
    "card_number_invalid": _("This card number is not valid: check the digits."),
    "loading_card": _("Looking up the card…"),
    "search_empty": _("No card matches."),
    "search_results": _("%(count)s cards found"),
    "camera_starting": _("Starting the camera…"),
    "camera_denied": _("The camera is not allowed. Allow it in the browser's settings, or type the card number."),
    "camera_missing": _("No camera found. Type the card number or use a scanner."),
    "camera_insecure": _("The camera needs a secure (HTTPS) connection. Type the card number or use a scanner."),
    "camera_failed": _("The camera could not start."),
    "camera_on": _("Point the camera at the customer's QR code."),
    # The card
    "stamps_of": _("%(count)s / %(target)s"),
    "points_value": _("%(points)s points"),
    "can_stamp_yes": _("A stamp can be given now."),
    "can_stamp_cooldown": _("Next stamp at %(time)s (in %(minutes)s min)."),
    "can_stamp_daily": _("Today's stamps given (%(count)s of %(max)s). Next stamp tomorrow."),
    "can_stamp_inactive": _("Card deactivated: no stamps."),
    "can_stamp_paused": _("No stamps now: the program is paused."),
    "reward_ready": _("Reward ready: %(reward)s"),
    "no_rewards": _("No reward reachable yet."),
    "reward_option": _("%(name)s — %(points)s points"),
    "no_history": _("No operation yet."),
    # Operations
    "sending": _("Sending…"),
    "retrying": _("Connection lost, trying again (%(attempt)s of %(attempts)s)…"),
    "gave_up": _("The operation may not have been recorded. Check the card before doing it again."),
    "success_stamp": _("Stamp %(count)s of %(target)s"),
    "success_stamp_reward": _("Stamp %(count)s of %(target)s — reward earned!"),
    "success_stamp_redeem": _("Reward given: %(reward)s"),
    "success_earn": _("+%(points)s points"),
    "success_redeem": _("%(reward)s given (−%(points)s points)"),
    "success_void_stamps": _("Stamps taken back: %(count)s"),
    "success_void_points": _("Taken back: %(points)s points"),
    "success_void_points_partial": _("Taken back: %(points)s points (the rest was already spent)"),
    "title_stamp": _("Add a stamp"),
    "title_stamp_redeem": _("Give the stamp reward"),
    "title_earn": _("Earn points: %(amount)s"),
    "title_redeem": _("Give %(reward)s (%(points)s points)"),
    "title_void": _("Take back the last operation"),
    "pin_attempts_left": _("Attempts left: %(count)s"),
    "earn_preview": _("%(points)s points"),
    "earn_amount_needed": _("Type the amount."),
    "void_nothing": _("The last operation cannot be taken back here."),
    "void_stamp": _("1 stamp added at %(time)s"),
    "void_points": _("%(points)s points earned at %(time)s (%(amount)s)"),
    # Enrollment
    "enroll_terms_needed": _("The customer must accept the terms."),
    "enroll_birthday_both": _("Give both the day and the month of the birthday, or neither."),
    "enrolled": _("Card created for %(name)s."),
    "already_enrolled_open": _("This customer already has a card: it is shown now."),
}


def till_strings() -> dict:
    """The strings in the active language, as plain text for the page's JSON block."""
    return {
        "errors": {code: str(message) for code, message in ERRORS.items()},
        "messages": {key: str(message) for key, message in MESSAGES.items()},
        # The ledger's own labels, already in the catalogs.
        "transaction_types": {choice.value: str(choice.label) for choice in TransactionType},
    }
