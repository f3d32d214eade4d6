from .audit import AdminAuditLog
from .base import TenantQuerySet, TimestampedModel
from .cards import LoyaltyCard
from .programs import LoyaltyType, Program, Reward
from .tenancy import Customer, Merchant, MerchantSettings, Store
from .transactions import ImmutableRowError, LoyaltyTransaction, TransactionType

__all__ = [
    "AdminAuditLog",
    "Customer",
    "ImmutableRowError",
    "LoyaltyCard",
    "LoyaltyTransaction",
    "LoyaltyType",
    "Merchant",
    "MerchantSettings",
    "Program",
    "Reward",
    "Store",
    "TenantQuerySet",
    "TimestampedModel",
    "TransactionType",
]
