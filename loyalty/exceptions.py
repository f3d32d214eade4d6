"""Domain errors with stable machine codes.

Every business-rule failure raises a subclass of :class:`LoyaltyError`. The
API's exception handler renders them as ``{"error": {"code", "message",
"details"}}`` with ``status``; the admin and the customer pages show
``message`` (translated). ``details`` carries machine-readable context such as
``next_stamp_available_at`` or ``locked_until`` and never a secret.
"""

from django.utils.translation import gettext_lazy as _


class LoyaltyError(Exception):
    code = "LOYALTY_ERROR"
    message = _("The operation could not be completed.")
    status = 400

    def __init__(self, message=None, *, details=None, code=None, status=None):
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or {}
        super().__init__(str(self.message))

    def as_dict(self):
        return {"code": self.code, "message": str(self.message), "details": self.details}


# --- 404: the thing does not exist for this merchant (never "forbidden") ----------
class NotFound(LoyaltyError):
    status = 404
    code = "NOT_FOUND"
    message = _("Not found.")


class CardNotFound(NotFound):
    code = "CARD_NOT_FOUND"
    message = _("No card matches.")


class ProgramNotFound(NotFound):
    code = "PROGRAM_NOT_FOUND"
    message = _("This merchant has no active loyalty program.")


class RewardNotFound(NotFound):
    code = "REWARD_NOT_FOUND"
    message = _("No active reward with this id in the program's catalog.")


class CampaignNotFound(NotFound):
    code = "CAMPAIGN_NOT_FOUND"
    message = _("No campaign matches.")


class StoreNotFound(NotFound):
    code = "STORE_NOT_FOUND"
    message = _("No active store with this code.")


class TransactionNotFound(NotFound):
    code = "TRANSACTION_NOT_FOUND"
    message = _("No matching transaction on this card.")


class StaffPinNotFound(NotFound):
    code = "STAFF_PIN_NOT_FOUND"
    message = _("No staff PIN with this id at this store.")


# --- 400 -------------------------------------------------------------------------------
class ValidationFailed(LoyaltyError):
    status = 400
    code = "VALIDATION_ERROR"
    message = _("The request is not valid.")


# --- 403 -------------------------------------------------------------------------------
class PermissionDenied(LoyaltyError):
    status = 403
    code = "PERMISSION_DENIED"
    message = _("Your role does not allow this operation.")


# --- 409 -------------------------------------------------------------------------------
class Conflict(LoyaltyError):
    status = 409


class CampaignNotChangeable(Conflict):
    code = "CAMPAIGN_NOT_CHANGEABLE"
    message = _("This campaign has started, been sent or been cancelled: it can no longer be changed.")


class AlreadyEnrolled(Conflict):
    code = "ALREADY_ENROLLED"
    message = _("This customer already has a card for this program.")


class IdempotencyConflict(Conflict):
    code = "IDEMPOTENCY_CONFLICT"
    message = _("This order reference was already used with a different card or amount.")


class IdempotencyKeyConflict(IdempotencyConflict):
    message = _("This Idempotency-Key was already used for a different request.")


class RequestInProgress(Conflict):
    code = "REQUEST_IN_PROGRESS"
    message = _("The first request with this Idempotency-Key has not finished yet; retry in a moment.")


class AlreadyVoided(Conflict):
    code = "ALREADY_VOIDED"
    message = _("This transaction has already been voided.")


class ProgramExists(Conflict):
    code = "PROGRAM_EXISTS"
    message = _("This merchant already has a loyalty program.")


class EnrollmentClosed(Conflict):
    code = "ENROLLMENT_CLOSED"
    message = _("Self-enrollment is closed for this program.")


# --- 422: business rules ------------------------------------------------------------
class BusinessRuleError(LoyaltyError):
    status = 422


class CampaignDailyLimit(BusinessRuleError):
    code = "CAMPAIGN_DAILY_LIMIT"
    message = _("You have already sent the campaigns allowed for that day: choose another day.")


class StampCooldown(BusinessRuleError):
    code = "STAMP_COOLDOWN"
    message = _("Please wait before adding another stamp to this card.")


class DailyStampLimit(BusinessRuleError):
    code = "DAILY_STAMP_LIMIT"
    message = _("This card has reached today's stamp limit.")


class InsufficientStamps(BusinessRuleError):
    code = "INSUFFICIENT_STAMPS"
    message = _("The card does not have enough stamps for the reward.")


class InsufficientPoints(BusinessRuleError):
    code = "INSUFFICIENT_POINTS"
    message = _("The card does not have enough points.")


class StaffPinRequired(BusinessRuleError):
    code = "STAFF_PIN_REQUIRED"
    message = _("A staff PIN is required for this operation.")


class StaffPinInvalid(BusinessRuleError):
    code = "STAFF_PIN_INVALID"
    message = _("The staff PIN is not valid.")


class CardInactive(BusinessRuleError):
    code = "CARD_INACTIVE"
    message = _("This card is deactivated.")


class ProgramInactive(BusinessRuleError):
    code = "PROGRAM_INACTIVE"
    message = _("The loyalty program is not active.")


class ProgramTypeMismatch(BusinessRuleError):
    code = "PROGRAM_TYPE_MISMATCH"
    message = _("The program does not support this operation.")


class BelowMinimumPurchase(BusinessRuleError):
    code = "BELOW_MINIMUM_PURCHASE"
    message = _("The purchase is below the program's minimum for earning points.")


class NothingToVoid(BusinessRuleError):
    code = "NOTHING_TO_VOID"
    message = _("There is nothing left to void.")


# --- 423 --------------------------------------------------------------------------------
class StaffPinLocked(LoyaltyError):
    status = 423
    code = "STAFF_PIN_LOCKED"
    message = _("Too many wrong PINs: PIN entry is locked for now.")


class AlertNotFound(NotFound):
    code = "ALERT_NOT_FOUND"
    message = _("No alert with this id for your merchant.")


class AlertAlreadyReviewed(Conflict):
    code = "ALERT_ALREADY_REVIEWED"
    message = _("This alert has already been dismissed or confirmed.")
