"""No secret on any admin page: PIN hashes and digests, pass tokens, card credentials, API token keys and hashes."""

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from tests.admin.test_scoping import TENANT_OBJECTS, _object

pytestmark = pytest.mark.django_db


def _secrets(world):
    values = []
    for side in (world.alpha, world.beta):
        values += [side.pin.pin_hash, side.pin.lookup_digest, side.apple_pass.authentication_token]
        values += [side.card.qr_code_data, side.card.public_token]
        values += [side.api_token_key, side.api_token_key[:8], side.api_token.key_digest]
        values += [side.api_token.password_fingerprint]
    return values


@pytest.mark.parametrize("role", ["owner", "manager", "superuser"])
def test_no_secret_on_any_changelist_or_change_page(world, clients, role):
    secrets = _secrets(world)
    client = clients[role]
    for model in admin.site._registry:
        label = model._meta.label_lower
        urls = [reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")]
        if label in TENANT_OBJECTS:
            obj = _object(world, "alpha", label)
            urls.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk]))
            try:
                urls.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add"))
            except NoReverseMatch:
                pass
        for url in urls:
            response = client.get(url)
            text = response.content.decode()
            for secret in secrets:
                assert secret not in text, (role, url)
