"""Who performs an operation, from where: recorded on every ledger row."""

from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser

from loyalty.models import Merchant, Store


class Channel(StrEnum):
    TILL = "till"  # the scanner app through the store API: staff PIN rules apply
    ADMIN = "admin"  # the back office: the user signed in with a password
    PUBLIC = "public"  # the customer pages and the public API
    SYSTEM = "system"  # scheduled jobs and commands


@dataclass(frozen=True)
class Actor:
    merchant: Merchant
    store: Store | None = None
    user: AbstractBaseUser | None = None
    role: str | None = None  # "owner" | "manager" | "staff"; None for platform admins and the system
    channel: Channel = Channel.TILL
    ip_address: str | None = None
    user_agent: str = ""

    @property
    def is_owner(self) -> bool:
        return self.role == "owner" or (self.role is None and self.user is not None and self.user.is_superuser)

    @property
    def can_manage_pins(self) -> bool:
        return self.is_owner or self.role == "manager"

    @classmethod
    def system(cls, merchant: Merchant) -> "Actor":
        return cls(merchant=merchant, channel=Channel.SYSTEM)
