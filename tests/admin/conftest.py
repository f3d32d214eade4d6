"""A two-merchant world and a logged-in test client per back-office role."""

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from loyalty.domain.actors import Actor, Channel
from loyalty.domain.cards import CardRef
from loyalty.models import (
    AdminAuditLog,
    Alert,
    AlertRule,
    AlertSeverity,
    Campaign,
    LoyaltyCard,
    LoyaltyTransaction,
    Merchant,
    MerchantSettings,
    Program,
    Store,
)
from loyalty.selectors.settings import merchant_settings_get
from loyalty.services.points import points_earn
from staff.models import ApiToken, Membership, StaffPin
from staff.services.memberships import membership_groups_sync
from staff.services.tokens import token_issue
from tests import factories
from tests.browser.conftest import browser, chromium_executables, screenshot, wait_for  # noqa: F401  (shared fixtures)
from wallet.models import ApplePass, GoogleWalletObject


@dataclass
class MerchantWorld:
    merchant: Merchant
    store: Store
    second_store: Store | None
    program: Program
    card: LoyaltyCard
    second_store_card: LoyaltyCard | None
    pin: StaffPin
    settings: MerchantSettings
    audit_entry: AdminAuditLog
    apple_pass: ApplePass
    google_object: GoogleWalletObject
    alert: Alert
    campaign: Campaign
    api_token: ApiToken | None = None  # a till signed in at ``store`` (set once the world has its users)
    api_token_key: str = ""

    @property
    def transaction(self) -> LoyaltyTransaction:
        return LoyaltyTransaction.objects.filter(card=self.card).order_by("pk").first()


@dataclass
class World:
    alpha: MerchantWorld
    beta: MerchantWorld
    owner: object
    manager: object
    staff: object
    other_owner: object
    superuser: object
    manager_membership: Membership
    other_owner_membership: Membership


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Five users per test: PBKDF2 at its production cost would dominate the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Login counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


def _user(role, merchant, stores, username):
    user = factories.make_user(
        role=role, merchant=merchant, stores=stores, username=username, email=f"{username}@example.com"
    )
    membership_groups_sync(membership=user.membership)
    return user


def _merchant_world(name, slug, store_code, second_store_code=None) -> MerchantWorld:
    merchant = factories.make_merchant(name, slug=slug)
    store = factories.make_store(merchant, code=store_code, name=f"{name} centre")
    second_store = (
        factories.make_store(merchant, code=second_store_code, name=f"{name} station") if second_store_code else None
    )
    program = factories.make_program(merchant, name=f"{name} card")
    factories.make_reward(program, "Croissant", 100)
    card = factories.make_card(store, email=f"first@{slug}.example.com")
    points_earn(
        actor=Actor(merchant=merchant, store=store, channel=Channel.SYSTEM),
        card_ref=CardRef(card_id=card.pk),
        purchase_amount_cents=1500,
    )
    card.refresh_from_db()
    second_store_card = factories.make_card(second_store, email=f"second@{slug}.example.com") if second_store else None
    pin = factories.make_pin(store, pin="4321", name=f"{name} barista")
    audit_entry = AdminAuditLog.objects.create(
        merchant=merchant, action="view", object_type="loyalty.LoyaltyCard", object_id=str(card.pk)
    )
    apple_pass = ApplePass.objects.create(
        card=card,
        serial_number=f"serial-{slug}",
        authentication_token=f"apple-auth-token-{slug}",
        changed_at=timezone.now(),
    )
    google_object = GoogleWalletObject.objects.create(card=card, object_id=f"issuer.{slug}")
    alert = Alert.objects.create(
        merchant=merchant,
        rule=AlertRule.BUSY_CARD,
        severity=AlertSeverity.MEDIUM,
        card=card,
        store=store,
        subject_key=f"card:{card.pk}",
        window_start_at=timezone.now(),
        window_end_at=timezone.now(),
        evidence={"operations": 6, "limit": 5, "transaction_ids": [card.transactions.order_by("pk").first().pk]},
    )
    return MerchantWorld(
        merchant=merchant,
        store=store,
        second_store=second_store,
        program=program,
        card=card,
        second_store_card=second_store_card,
        pin=pin,
        settings=merchant_settings_get(merchant=merchant),
        audit_entry=audit_entry,
        apple_pass=apple_pass,
        google_object=google_object,
        alert=alert,
        campaign=Campaign.objects.create(merchant=merchant, text_en=f"News from {name}"),
    )


@pytest.fixture
def world(db) -> World:
    alpha = _merchant_world("Café Alpha", "cafe-alpha", "alpha-centre", "alpha-station")
    beta = _merchant_world("Bakery Beta", "bakery-beta", "beta-shop")
    owner = _user("owner", alpha.merchant, [alpha.store, alpha.second_store], "alpha-owner")
    manager = _user("manager", alpha.merchant, [alpha.store], "alpha-manager")
    staff = _user("staff", alpha.merchant, [alpha.store], "alpha-staff")
    other_owner = _user("owner", beta.merchant, [beta.store], "beta-owner")
    superuser = factories.make_admin()
    for side, user in ((alpha, manager), (beta, other_owner)):
        issued = token_issue(
            username=user.username,
            password=factories.PASSWORD,
            store_code=side.store.code,
            user_agent="Till/2.1 (iPad)",
        )
        side.api_token, side.api_token_key = issued.token, issued.key
    return World(
        alpha=alpha,
        beta=beta,
        owner=owner,
        manager=manager,
        staff=staff,
        other_owner=other_owner,
        superuser=superuser,
        manager_membership=manager.membership,
        other_owner_membership=other_owner.membership,
    )


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clients(world) -> dict[str, Client]:
    return {
        "owner": logged_in(world.owner),
        "manager": logged_in(world.manager),
        "staff": logged_in(world.staff),
        "other_owner": logged_in(world.other_owner),
        "superuser": logged_in(world.superuser),
    }


def ledger_sums(card: LoyaltyCard) -> tuple[int, int]:
    rows = LoyaltyTransaction.objects.filter(card=card)
    return sum(rows.values_list("stamps_delta", flat=True)), sum(rows.values_list("points_delta", flat=True))
