"""Test data builders. They go through the domain services where a service exists."""

import itertools

from django.contrib.auth import get_user_model

from loyalty.domain.actors import Actor, Channel
from loyalty.models import LoyaltyCard, Merchant, Program, Reward, Store
from loyalty.services.enrollment import customer_enroll
from staff.models import Membership, StaffPin
from staff.services.pins import pin_create

_seq = itertools.count(1)
PASSWORD = "pass-1234-word"  # of every user made here unless a test names another


def make_merchant(name=None, **fields) -> Merchant:
    n = next(_seq)
    return Merchant.objects.create(name=name or f"Merchant {n}", slug=fields.pop("slug", f"merchant-{n}"), **fields)


def make_store(merchant=None, code=None, **fields) -> Store:
    merchant = merchant or make_merchant()
    n = next(_seq)
    fields.setdefault("timezone", "Europe/Luxembourg")
    return Store.objects.create(merchant=merchant, code=code or f"store-{n}", name=fields.pop("name", f"Store {n}"), **fields)


def make_program(merchant, **fields) -> Program:
    defaults = dict(
        name="Coffee Card",
        loyalty_type="hybrid",
        stamps_target=10,
        stamps_reward_description="Free coffee",
        points_per_euro=10,
        cooldown_minutes=15,
        max_daily_stamps=5,
        require_staff_pin=False,
    )
    defaults.update(fields)
    return Program.objects.create(merchant=merchant, **defaults)


def make_reward(program, name="Croissant", points_required=100, **fields) -> Reward:
    return Reward.objects.create(program=program, name=name, points_required=points_required, **fields)


def make_user(role=None, merchant=None, stores=(), password=PASSWORD, **fields):
    n = next(_seq)
    User = get_user_model()
    user = User.objects.create_user(
        username=fields.pop("username", f"user{n}"), password=password, is_staff=role in ("owner", "manager"), **fields
    )
    if role:
        membership = Membership.objects.create(user=user, merchant=merchant, role=role)
        membership.stores.set(stores)
    return user


def make_admin(password=PASSWORD):
    n = next(_seq)
    return get_user_model().objects.create_superuser(username=f"admin{n}", password=password, email=f"a{n}@example.com")


def back_office_actor(merchant, role="owner") -> Actor:
    """A new member of ``merchant`` with ``role``, acting in the back office (the admin)."""
    user = make_user(role=role, merchant=merchant)
    return Actor(merchant=merchant, user=user, role=role, channel=Channel.ADMIN)


def till_actor(store, *, role="staff", user=None, **fields) -> Actor:
    return Actor(merchant=store.merchant, store=store, user=user, role=role, channel=Channel.TILL, **fields)


def owner_actor(store, **fields) -> Actor:
    return till_actor(store, role="owner", **fields)


def make_card(store, email=None, **fields) -> LoyaltyCard:
    n = next(_seq)
    actor = Actor(merchant=store.merchant, store=store, channel=Channel.SYSTEM)
    return customer_enroll(actor=actor, email=email or f"customer{n}@example.com", full_name=f"Customer {n}", **fields).card


def make_pin(store, pin="1234", name=None) -> StaffPin:
    return pin_create(actor=owner_actor(store), store=store, name=name or f"Staff {next(_seq)}", pin=pin)
