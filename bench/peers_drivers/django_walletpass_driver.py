"""Run by bench/peers.py inside var/peers/django-walletpass-venv (not the project's virtualenv).

Reads a JSON plan on stdin: the model directory (our pass's pass.json, images and
.strings files), the signing files, how many passes to build and where to write one.
Builds ``count`` passes with django-walletpass's ``PassBuilder`` as its README shows
(settings ``WALLETPASS``, ``add_file``, ``build``), after one warm-up pass, and
prints ``{"seconds": ..., "count": ...}``: the loop alone, not the process start-up.
"""

import json
import sys
import time
from pathlib import Path

plan = json.load(sys.stdin)

import django
from django.conf import settings

settings.configure(
    SECRET_KEY="peer-bench-only",
    INSTALLED_APPS=["django.contrib.contenttypes", "django_walletpass"],
    DATABASES={},
    USE_TZ=True,
    WALLETPASS={
        "CERT_PATH": plan["signer_cert"],
        "KEY_PATH": plan["signer_key"],
        "KEY_PASSWORD": None,
        "APPLE_WWDRCA_PEM_PATH": plan["wwdr_cert"],
        "PASS_TYPE_ID": plan["pass_type_identifier"],
        "TEAM_ID": plan["team_identifier"],
        "SERVICE_URL": plan["web_service_url"],
    },
)
django.setup()

from django_walletpass.services import PassBuilder

model = Path(plan["model"])
pass_json = json.loads((model / "pass.json").read_text(encoding="utf-8"))
files = {
    str(path.relative_to(model)): path.read_bytes()
    for path in sorted(model.rglob("*"))
    if path.is_file() and path.name != "pass.json"
}


def build(number: int) -> bytes:
    builder = PassBuilder()
    builder.pass_data = dict(pass_json)
    builder.pass_data_required.update({
        "serialNumber": f"{pass_json['serialNumber']}{number}",
        "authenticationToken": pass_json["authenticationToken"],
    })
    for name, data in files.items():
        builder.add_file(name, data)
    return builder.build()


Path(plan["sample"]).write_bytes(build(0))  # the warm-up, kept to be verified
began = time.perf_counter()
for number in range(1, plan["count"] + 1):
    build(number)
print(json.dumps({"seconds": time.perf_counter() - began, "count": plan["count"]}))
