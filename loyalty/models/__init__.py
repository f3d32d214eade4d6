from .alerts import Alert, AlertDigestSent, AlertRule, AlertSeverity, AlertStatus
from .audit import AdminAuditLog
from .automatic_messages import (
    AUTOMATIC_MESSAGE_DEFAULT_TEXTS,
    AutomaticMessageDelivery,
    AutomaticMessageKind,
    AutomaticMessageStatus,
)
from .base import TenantQuerySet, TimestampedModel
from .campaigns import (
    Campaign,
    CampaignAudience,
    CampaignDelivery,
    CampaignStatus,
    DeliveryChannel,
    DeliveryStatus,
)
from .cards import LoyaltyCard
from .idempotency import IdempotencyRecord
from .programs import MAX_PURCHASE_CENTS, PROGRAM_BOUNDS, LoyaltyType, Program, Reward, program_bounds
from .tenancy import Customer, Merchant, MerchantSettings, Store, StoreOpeningHours, Weekday
from .transactions import ImmutableRowError, LoyaltyTransaction, TransactionType

__all__ = [
    "AUTOMATIC_MESSAGE_DEFAULT_TEXTS",
    "AutomaticMessageDelivery",
    "AutomaticMessageKind",
    "AutomaticMessageStatus",
    "AdminAuditLog",
    "Alert",
    "AlertDigestSent",
    "AlertRule",
    "AlertSeverity",
    "AlertStatus",
    "Campaign",
    "CampaignAudience",
    "CampaignDelivery",
    "CampaignStatus",
    "DeliveryChannel",
    "DeliveryStatus",
    "Customer",
    "IdempotencyRecord",
    "ImmutableRowError",
    "LoyaltyCard",
    "LoyaltyTransaction",
    "LoyaltyType",
    "MAX_PURCHASE_CENTS",
    "Merchant",
    "MerchantSettings",
    "PROGRAM_BOUNDS",
    "Program",
    "Reward",
    "Store",
    "StoreOpeningHours",
    "TenantQuerySet",
    "TimestampedModel",
    "TransactionType",
    "Weekday",
    "program_bounds",
]
