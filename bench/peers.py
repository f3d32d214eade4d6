"""The peers section of the bench: the same store card built by two other pass libraries, beside ours.

- **django-walletpass** (``PassBuilder``), installed on first use into its own
  virtualenv, ``var/peers/django-walletpass-venv`` (never the project's), and run
  there by ``bench/peers_drivers/django_walletpass_driver.py``;
- **passkit-generator** (Node), installed on first use with ``npm install
  --prefix var/peers/node`` and run by ``bench/peers_drivers/passkit_generator_driver.js``;
  left out, with a line saying so, when ``node`` or ``npm`` is missing.

Same card: our pass's own files (pass.json, the icon, logo and strip images at
every scale, the four ``.strings``) are written to ``var/peers/model`` and each
peer builds its pass from them with the bench's development certificate, key and
WWDR intermediate. Same count and timing: each builds ``count`` passes after one
warm-up in a loop timed inside its own process (start-up left out), as ours are
here, each of ours read from the database as a download reads it. A peer's pass
must verify with ``openssl smime -verify`` exactly as ours does in
``tests/wallet/apple/test_pass_package.py``, or its figure fails.
"""

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Figure
from wallet.apple.builder import pass_package_build
from wallet.apple.config import apple_config
from wallet.apple.services import apple_pass_get_or_create

SECTION = "Peers"
TARGET_RATIO = 3  # ours ≥ 3× the faster peer
ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "var" / "peers"
DRIVERS = Path(__file__).resolve().parent / "peers_drivers"
INSTALL_TIMEOUT = 600


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr)


def _walletpass_python(*, install: bool) -> Path | None:
    venv = PEERS / "django-walletpass-venv"
    python = venv / "bin" / "python"
    installed = python.exists() and subprocess.run(
        [python, "-c", "import django_walletpass"], capture_output=True, check=False
    )
    if not (installed and installed.returncode == 0):
        if not install:
            return None
        _log(f"installing django-walletpass into {venv.relative_to(ROOT)} (first run only)")
        subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True, timeout=INSTALL_TIMEOUT)
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "django-walletpass"], check=True, timeout=INSTALL_TIMEOUT
        )
    return python


def _node_prefix(*, install: bool) -> Path | None:
    if not (shutil.which("node") and shutil.which("npm")):
        return None
    prefix = PEERS / "node"
    if not (prefix / "node_modules" / "passkit-generator" / "package.json").exists():
        if not install:
            return None
        _log(f"installing passkit-generator into {prefix.relative_to(ROOT)} (first run only)")
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(prefix), "passkit-generator"],
            check=True, timeout=INSTALL_TIMEOUT,
        )  # fmt: skip
    return prefix


def _version(python_or_prefix, package: str) -> str:
    if isinstance(python_or_prefix, Path) and python_or_prefix.name == "python":
        found = subprocess.run(
            [python_or_prefix, "-c", f"from importlib.metadata import version; print(version({package!r}))"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        return found.stdout.strip()
    manifest = python_or_prefix / "node_modules" / package / "package.json"
    return json.loads(manifest.read_text())["version"]


def openssl_verify(package: bytes, ca_path: Path) -> str | None:
    """None when the package's signature verifies over its manifest (the flags of our own test), else why not."""
    import io
    import zipfile

    openssl = shutil.which("openssl")
    if openssl is None:
        return "openssl not found"
    with tempfile.TemporaryDirectory() as directory, zipfile.ZipFile(io.BytesIO(package)) as archive:
        for name in ("signature", "manifest.json"):
            (Path(directory) / name).write_bytes(archive.read(name))
        result = subprocess.run(
            [
                openssl, "smime", "-verify", "-binary", "-inform", "DER",
                "-in", f"{directory}/signature", "-content", f"{directory}/manifest.json",
                "-CAfile", str(ca_path), "-purpose", "any", "-out", "/dev/null",
            ],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    if result.returncode == 0 and "Verification successful" in result.stderr:
        return None
    return (result.stderr.strip().splitlines() or ["openssl failed"])[-1]


def _model(package: bytes, directory: Path) -> None:
    import io
    import zipfile

    shutil.rmtree(directory, ignore_errors=True)
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        for name in archive.namelist():
            if name not in ("manifest.json", "signature"):
                target = directory / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(name))


def _drive(command: list, plan: dict) -> dict:
    finished = subprocess.run(command, input=json.dumps(plan), capture_output=True, text=True, timeout=300, check=False)
    if finished.returncode != 0:
        raise RuntimeError(finished.stderr.strip()[-500:] or f"exit status {finished.returncode}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def run(card, *, count: int, install: bool = True) -> list[Figure]:
    """The peers' figures; with ``install=False`` (the bench's ``--quick``) a peer not installed yet is left out."""
    config = apple_config()
    apple_pass = apple_pass_get_or_create(card=card)
    ours_package = pass_package_build(apple_pass=apple_pass, config=config)
    certificates = Path(config.signer_cert_path).parent
    ca = certificates / "ca.pem"
    problem = openssl_verify(ours_package, ca)
    if problem:
        raise SystemExit(f"bench: our own pass does not verify: {problem}")

    pass_package_build(apple_pass=apple_pass, config=config)  # warm, as the peers' drivers do
    began = time.perf_counter()
    for _ in range(count):
        pass_package_build(apple_pass=apple_pass, config=config)
    ours = count / (time.perf_counter() - began)

    model = PEERS / "model"
    _model(ours_package, model)
    plan = {
        "model": str(model), "count": count,
        "signer_cert": config.signer_cert_path, "signer_key": config.signer_key_path,
        "wwdr_cert": config.wwdr_cert_path, "pass_type_identifier": config.pass_type_identifier,
        "team_identifier": config.team_identifier, "web_service_url": config.web_service_url,
    }  # fmt: skip
    peers, left_out = {}, []
    python = _walletpass_python(install=install)
    if python is None:
        left_out.append("django-walletpass not installed (a full run installs it)")
    else:
        peers[f"django-walletpass {_version(python, 'django-walletpass')} (PassBuilder)"] = (
            [python, DRIVERS / "django_walletpass_driver.py"],
            {},
        )
    prefix = _node_prefix(install=install)
    if prefix is None:
        left_out.append(
            "passkit-generator skipped: node or npm not found"
            if not (shutil.which("node") and shutil.which("npm"))
            else "passkit-generator not installed (a full run installs it)"
        )
    else:
        peers[f"passkit-generator {_version(prefix, 'passkit-generator')} (Node)"] = (
            ["node", DRIVERS / "passkit_generator_driver.js"],
            {"node_prefix": str(prefix)},
        )

    figures, measured = [], {}
    for name, (command, extra) in peers.items():
        with tempfile.TemporaryDirectory() as directory:
            sample = Path(directory) / "sample.pkpass"
            try:
                result = _drive(command, {**plan, **extra, "sample": str(sample)})
                problem = openssl_verify(sample.read_bytes(), ca)
            except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as error:
                result, problem = None, f"did not run: {error}"
        if result is None or problem:
            figures.append(
                Figure(
                    SECTION,
                    f"{name}: signed .pkpass files/s",
                    0.0,
                    "/s",
                    target="verifies",
                    passed=False,
                    detail=f"openssl smime -verify: {problem}",
                )
            )
            continue
        rate = result["count"] / result["seconds"]
        measured[name] = rate
        figures.append(
            Figure(
                SECTION,
                f"{name}: signed .pkpass files/s",
                rate,
                "/s",
                detail=f"{result['count']} passes, loop timed in its process; verifies with openssl smime -verify",
            )
        )
    for line in left_out:
        _log(line)
    detail = "; ".join([f"{count} passes, each read from the database; the same files and certificates", *left_out])
    if measured:
        fastest = max(measured, key=measured.get)
        figures.append(
            Figure.against(
                SECTION,
                "ours: signed .pkpass files/s",
                ours,
                "/s",
                measured[fastest],
                fastest.split(" (")[0],
                TARGET_RATIO,
                detail,
            )
        )
    else:
        figures.append(Figure(SECTION, "ours: signed .pkpass files/s", ours, "/s", detail=detail))
    return figures
