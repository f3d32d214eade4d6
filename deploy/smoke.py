"""The production-like smoke run of CI: the deploy/ files, started as an operator would start them.

gunicorn, a Celery worker and Celery beat are started with the ExecStart commands of
deploy/systemd/*.service (the code directory /srv/loyalty replaced by this checkout), and
manage.py runs through deploy/manage.sh with an environment file in deploy/env.example's
format. Settings as in production: DEBUG=false, an https SITE_URL, PostgreSQL, Redis as cache
and broker, Google Wallet on (the local stand-in of tests/wallet/google/fake_google.py). Requests
go to gunicorn as nginx would send them: Host loyalty.test, X-Forwarded-Proto https and
X-Forwarded-For.

Checked: check --deploy passes; /readyz is ok with every component; the landing page and the
back-office login render from the collected static files; a card enrolled through the public
API and stamped through the store API reaches Google through the worker; beat runs the
schedule the migrations put in the database (the hourly wallet sync, made due); a backup made
with deploy/backup.sh restores into an empty database with the same ledger, whose trigger still
refuses an UPDATE. Then everything it started is stopped and removed.

    .venv/bin/python deploy/smoke.py      (called by .ci/run after the test suites)

Machine-wide resources, never shared with another run: its own PostgreSQL databases
(loyalty_smoke_<run id>, dropped at the end) on the server of CI_POSTGRES_URL; the Redis of
TEST_REDIS_URL, never flushed (cache keys under this run's prefix, tasks in this run's queue,
both deleted at the end); free ports on 127.0.0.1. Exits 1 with what failed and the processes'
last log lines; takes about a minute.
"""

import http.client
import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.wallet.google.fake_google import (  # after ROOT is on the path
    ISSUER_ID,
    new_service_account_key,
    service_account_info,
    start_server,
)

INSTALL_DIRECTORY = "/srv/loyalty"  # where the units expect the code; here, this checkout
HOST = "loyalty.test"
SITE_URL = f"https://{HOST}"
CLIENT_ADDRESS = "203.0.113.10"  # the customer, as nginx would append it to X-Forwarded-For
POSTGRES_URL = os.environ.get("CI_POSTGRES_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_URL = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"
RUN_ID = f"{os.getpid()}_{secrets.token_hex(4)}"
WHOLE_RUN_SECONDS = 240  # a hard stop, far above the usual minute


class SmokeFailure(Exception):
    pass


def log(message: str) -> None:
    print(f"smoke: {message}", flush=True)


@contextmanager
def step(name: str):
    started = time.monotonic()
    log(f"{name} ...")
    yield
    log(f"{name}: ok ({time.monotonic() - started:.1f} s)")


def wait_for(what: str, condition, *, timeout: float, interval: float = 0.25, processes=()):
    """Poll ``condition`` until it returns something true; fail after ``timeout`` or when a process dies."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise SmokeFailure(f"{process.name} exited with {process.poll()} while waiting for {what}")
        try:
            result = condition()
            if result:
                return result
        except (OSError, http.client.HTTPException) as error:
            last_error = error
        time.sleep(interval)
    raise SmokeFailure(f"no {what} within {timeout:.0f} s" + (f" (last error: {last_error!r})" if last_error else ""))


# --- Resources: PostgreSQL databases, Redis keys, ports ----------------------------------------------------


def database_url(name: str) -> str:
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


def postgres(sql: str, *, database: str = "postgres", fetch: bool = False):
    url = database_url(database).replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as connection:
        cursor = connection.execute(sql)
        return cursor.fetchall() if fetch else None


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_keys(pattern: str) -> list[bytes]:
    return list(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).scan_iter(match=pattern, count=500))


def redis_forget(prefix_or_id: str) -> int:
    """Delete this run's keys (their names carry the run id) and its entries in kombu's shared binding sets."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    deleted = 0
    for key in client.scan_iter(match=f"*{prefix_or_id}*", count=500):
        deleted += client.delete(key)
    for key in client.scan_iter(match="_kombu.binding.*", count=500):
        if client.type(key) == b"set":
            mine = [member for member in client.smembers(key) if prefix_or_id.encode() in member]
            if mine:
                client.srem(key, *mine)
    return deleted


# --- Processes ---------------------------------------------------------------------------------------------


class Process:
    """A long-running process of the deployment, its output in a log file."""

    def __init__(self, name: str, command: list[str], *, env: dict, log_directory: Path):
        self.name, self.command = name, command
        self.log_path = log_directory / f"{name}.log"
        self._log = self.log_path.open("w")
        self.popen = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def poll(self):
        return self.popen.poll()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, *, timeout: float = 20) -> int:
        """SIGTERM, as systemd stops a unit; SIGKILL for the whole group if that is not enough."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name} did not stop within {timeout:.0f} s: killing it")
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)  # whatever it left behind (prefork children)
        except ProcessLookupError:
            pass
        self.popen.wait(timeout=10)
        self._log.close()
        return self.popen.returncode

    def tail(self, lines: int = 40) -> str:
        return "\n".join(f"    {line}" for line in self.output().splitlines()[-lines:])


def unit_command(unit: str, *extra: str) -> list[str]:
    """The ExecStart= of deploy/systemd/<unit>, with this checkout in place of /srv/loyalty."""
    for line in (ROOT / "deploy" / "systemd" / unit).read_text().splitlines():
        if line.startswith("ExecStart="):
            command = shlex.split(line.removeprefix("ExecStart="))
            return [part.replace(INSTALL_DIRECTORY, str(ROOT)) for part in command] + list(extra)
    raise SmokeFailure(f"deploy/systemd/{unit} has no ExecStart=")


# --- HTTP, as nginx forwards it ----------------------------------------------------------------------------


class Http:
    def __init__(self, port: int):
        self.port = port

    def request(self, method: str, path: str, *, body=None, headers=None, timeout: float = 15):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        sent = {
            "Host": HOST,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": CLIENT_ADDRESS,
            "User-Agent": "loyalty-smoke",
            **(headers or {}),
        }
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            content = response.read()
            return response.status, dict(response.getheaders()), content
        finally:
            connection.close()

    def json(self, method: str, path: str, *, expect: int, **kwargs) -> dict:
        status, _headers, content = self.request(method, path, **kwargs)
        if status != expect:
            raise SmokeFailure(f"{method} {path} answered {status}, expected {expect}: {content[:500]!r}")
        return json.loads(content)


# --- The run -----------------------------------------------------------------------------------------------


class SmokeRun:
    def __init__(self):
        self.directory = Path(tempfile.mkdtemp(prefix="loyalty-smoke-"))
        self.database = f"loyalty_smoke_{RUN_ID}"
        self.restored_database = f"{self.database}_restored"
        self.queue = f"smoke-{RUN_ID}"
        self.cache_prefix = f"smoke-{RUN_ID}"
        self.processes: list[Process] = []
        self.databases_made: list[str] = []
        self.google = self.google_server = None
        self.port = free_port()
        self.http = Http(self.port)

    # The environment, as /etc/loyalty/env would hold it.
    def environment(self) -> dict:
        return {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "LOYALTY_PIN_LOOKUP_KEY": secrets.token_urlsafe(50),
            "CACHE_URL": REDIS_URL,
            "CACHE_KEY_PREFIX": self.cache_prefix,
            "SITE_URL": SITE_URL,
            "ALLOWED_HOSTS": HOST,
            "CSRF_TRUSTED_ORIGINS": SITE_URL,
            "DATABASE_URL": database_url(self.database),
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "EMAIL_URL": "consolemail://",
            "DEFAULT_FROM_EMAIL": "loyalty@loyalty.test",
            "MEDIA_ROOT": str(self.directory / "media"),
            "SECURE_PROXY_SSL_HEADER_ENABLED": "true",
            "TRUSTED_PROXY_COUNT": "1",
            "LOG_LEVEL": "INFO",
            "LOYALTY_GOOGLE_ISSUER_ID": ISSUER_ID,
            "LOYALTY_GOOGLE_SERVICE_ACCOUNT_JSON": str(self.directory / "google-service-account.json"),
            "LOYALTY_GOOGLE_API_BASE": f"{self.google.url}/walletobjects/v1",
        }

    def start_google(self) -> None:
        key = new_service_account_key()
        self.google, self.google_server = start_server(key.certificate_pem)
        key_file = self.directory / "google-service-account.json"
        key_file.write_text(json.dumps(service_account_info(key, self.google.url + "/token")))
        key_file.chmod(0o600)

    def write_environment_file(self) -> None:
        self.settings = self.environment()
        lines = [f"{key}='{value}'" if any(c in value for c in " &;$`\"") else f"{key}={value}"
                 for key, value in self.settings.items()]  # fmt: skip
        self.env_file = self.directory / "env"
        self.env_file.write_text("\n".join(lines) + "\n")
        self.env_file.chmod(0o600)
        # What systemd gives a unit: a bare environment, plus the file.
        self.process_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **self.settings}
        self.process_env["HOME"] = str(self.directory)

    def manage(self, *arguments: str, timeout: float = 120, with_stderr: bool = False) -> str:
        """deploy/manage.sh, as the current user with this run's environment file."""
        command = [str(ROOT / "deploy" / "manage.sh"), *arguments]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.directory),
            "LANG": "C.UTF-8",
            "LOYALTY_ENV_FILE": str(self.env_file),
            "LOYALTY_USER": pwd.getpwuid(os.getuid()).pw_name,
        }
        result = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise SmokeFailure(
                f"deploy/manage.sh {' '.join(arguments)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout + (result.stderr if with_stderr else "")

    def start(self, name: str, command: list[str]) -> Process:
        process = Process(name, command, env=self.process_env, log_directory=self.directory)
        self.processes.append(process)
        return process

    # --- what is checked ---

    def run(self) -> None:
        with step(f"PostgreSQL database {self.database}, Google stand-in, environment file"):
            postgres(f'CREATE DATABASE "{self.database}"')
            self.databases_made.append(self.database)
            self.start_google()
            self.write_environment_file()

        with step("migrate, check --deploy, collectstatic, demo data (deploy/manage.sh)"):
            self.manage("migrate", "--noinput", "-v0")
            # Errors fail the run; warnings (a test certificate close to its end, say) are shown.
            report = self.manage("check", "--deploy", with_stderr=True)
            log("  check --deploy: " + " | ".join(report.strip().splitlines() or ["no issues"]))
            self.manage("collectstatic", "--noinput", "-v0")
            self.demo = json.loads(self.manage("loyalty_demo", "--force", "--json").strip().splitlines()[-1])

        with step("gunicorn, Celery worker and beat from deploy/systemd/*.service"):
            # A port of its own, two workers for the shared CI machine.
            web = self.start(
                "web", unit_command("loyalty-web.service", "--bind", f"127.0.0.1:{self.port}", "--workers", "2")
            )
            # A node name with this run's id, and no gossip or mingle with the workers of other runs on this Redis.
            worker = self.start("worker", unit_command(
                "loyalty-worker.service", "--hostname", f"smoke-{RUN_ID}@%h", "--concurrency", "1",
                "--without-gossip", "--without-mingle",
            ))  # fmt: skip
            beat = self.start("beat", unit_command("loyalty-beat.service"))
            self.web, self.worker, self.beat = web, worker, beat
            wait_for("answer from /healthz", lambda: self.http.request("GET", "/healthz")[0] == 200,
                     timeout=60, processes=self.processes)  # fmt: skip
            wait_for("worker ready", lambda: "ready" in worker.output(), timeout=60, processes=self.processes)

        with step("/readyz: database, migrations, cache and broker"):
            body = self.http.json("GET", "/readyz", expect=200)
            failing = [name for name, check in body["checks"].items() if not check["ok"]]
            if body["status"] != "ok" or failing or body["checks"]["broker"].get("detail") == "not configured":
                raise SmokeFailure(f"/readyz is not ready: {body}")
            log(f"  {body}")

        with step("pages render in production: the landing page and the back-office login"):
            status, headers, content = self.http.request("GET", "/")
            page = content.decode()
            if status != 200 or 'href="/admin/"' not in page or "/static/loyalty/pages." not in page:
                raise SmokeFailure(f"GET / answered {status}: {page[:500]}")
            if any(login["password"] in page for login in self.demo["logins"]):
                raise SmokeFailure("the production landing page shows a demo password")
            if "max-age" not in headers.get("Strict-Transport-Security", ""):
                raise SmokeFailure(f"no HSTS header on an https request: {headers}")
            status, _headers, content = self.http.request("GET", "/admin/login/")
            if status != 200:
                raise SmokeFailure(f"GET /admin/login/ answered {status}: {content[:500]!r}")
            status, headers, _content = self.http.request("GET", "/healthz", headers={"X-Forwarded-Proto": "http"})
            if status != 200:
                raise SmokeFailure(f"a plain-HTTP probe of /healthz answered {status}, not 200 ({headers})")

        with step("enroll through the public API, add the card to Google Wallet"):
            email = f"smoke-{RUN_ID}@example.com"
            enrolled = self.http.json(
                "POST", "/api/v1/loyalty/enroll/demo-center", expect=201,
                body={"email": email, "full_name": "Smoke Test", "accept_terms": True},
            )  # fmt: skip
            if not enrolled.get("card_url", "").startswith(SITE_URL + "/") or not enrolled.get("google_save_url"):
                raise SmokeFailure(f"unexpected enrollment answer: {enrolled}")
            save_path = urllib.parse.urlsplit(enrolled["google_save_url"]).path
            status, headers, content = self.http.request("GET", save_path)
            if status != 302 or not headers.get("Location", "").startswith("https://pay.google.com/gp/v/save/"):
                raise SmokeFailure(
                    f"the Google save link answered {status} {headers.get('Location')}: {content[:300]!r}"
                )
            objects = [path for method, path in self.google.calls() if method == "POST" and path == "loyaltyObject"]
            if not objects:
                raise SmokeFailure(f"the save link did not create the Google object: {self.google.calls()}")

        with step("stamp through the store API; the worker delivers the update to Google"):
            staff = next(login for login in self.demo["logins"] if login["role"] == "staff")
            store_code = staff["stores"][0]
            pin = next(pin["pin"] for pin in self.demo["pins"] if pin["store"] == store_code)
            token = self.http.json(
                "POST", "/api/v1/auth/token", expect=201,
                body={"username": staff["username"], "password": staff["password"], "store_code": store_code},
            )["token"]  # fmt: skip
            authorization = {"Authorization": f"Token {token}"}
            lookup = self.http.json(
                "GET",
                f"/api/v1/store/loyalty/cards/lookup?q={urllib.parse.quote(email)}",
                expect=200,
                headers=authorization,
            )
            self.google.requests.clear()
            stamped = self.http.json(
                "POST", "/api/v1/store/loyalty/stamp", expect=201, headers=authorization,
                body={"card_number": lookup["card"]["card_number"], "staff_pin": pin},
            )  # fmt: skip
            if stamped.get("stamp_count") != 1:
                raise SmokeFailure(f"unexpected stamp answer: {stamped}")
            patches = wait_for(
                "PATCH of the card's Google object",
                lambda: [request for request in self.google.requests
                         if request.method == "PATCH" and request.path.startswith("loyaltyObject/")],
                timeout=45, processes=self.processes,
            )  # fmt: skip
            log(f"  Google received PATCH {patches[0].path}: {json.dumps(patches[0].body)[:160]}")
            if "succeeded" not in self.worker.output():
                raise SmokeFailure("the worker's log shows no task that succeeded")
            if not redis_keys(f"{self.cache_prefix}:*"):
                raise SmokeFailure(
                    f"no cache key under CACHE_KEY_PREFIX={self.cache_prefix}: throttles count elsewhere"
                )

        with step("beat runs the schedule from the database (the hourly wallet sync, made due)"):
            # Beat reads the schedule the migrations wrote; an edit there (here: a last run two hours
            # ago) reaches it within its 5-second loop, and the worker runs what it sends.
            self.manage("shell", "-c", (
                "from datetime import timedelta; from django.utils import timezone; "
                "from django_celery_beat.models import PeriodicTask; "
                "task = PeriodicTask.objects.get(name='loyalty.sync_wallet_passes'); "
                "task.last_run_at = timezone.now() - timedelta(hours=2); task.save()"
            ))  # fmt: skip
            wait_for(
                "hourly wallet sync sent by beat and run by the worker",
                lambda: "loyalty.sync_wallet_passes" in self.beat.output()
                and any("loyalty.sync_wallet_passes[" in line and "succeeded" in line
                        for line in self.worker.output().splitlines()),
                timeout=45, processes=self.processes,
            )  # fmt: skip

        with step("backup with deploy/backup.sh, restore drill into an empty database"):
            self.restore_drill()

        with step("stop gunicorn, the worker and beat as systemd would (SIGTERM)"):
            for process in reversed(self.processes):
                code = process.stop()
                if code != 0:
                    raise SmokeFailure(f"{process.name} exited with {code} on SIGTERM")

    def restore_drill(self) -> None:
        backups = self.directory / "backups"
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": database_url(self.database)}
        result = subprocess.run([str(ROOT / "deploy" / "backup.sh"), str(backups)], env=env,
                                capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        if result.returncode != 0:
            raise SmokeFailure(f"deploy/backup.sh failed: {result.stdout}{result.stderr}")
        dump = next(backups.glob("loyalty-*.dump"))
        postgres(f'CREATE DATABASE "{self.restored_database}"')
        self.databases_made.append(self.restored_database)
        # The README's drill: an empty database, no --clean, no --disable-triggers.
        result = subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={database_url(self.restored_database)}", str(dump)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise SmokeFailure(f"pg_restore failed: {result.stderr}")
        census = (
            "SELECT (SELECT count(*) FROM loyalty_loyaltytransaction), (SELECT count(*) FROM loyalty_loyaltycard), "
            "(SELECT count(*) FROM django_migrations), "
            "(SELECT coalesce(sum(stamps_delta), 0) FROM loyalty_loyaltytransaction)"
        )
        original = postgres(census, database=self.database, fetch=True)
        restored = postgres(census, database=self.restored_database, fetch=True)
        if original != restored:
            raise SmokeFailure(f"the restored database differs: {original} != {restored}")
        try:
            postgres(
                "UPDATE loyalty_loyaltytransaction SET stamps_delta = stamps_delta + 1", database=self.restored_database
            )
        except psycopg.Error as error:  # the refusal is what we want to see
            if "append-only" not in str(error):
                raise SmokeFailure(f"the UPDATE failed for another reason: {error}") from error
        else:
            raise SmokeFailure("the restored ledger accepted an UPDATE: its trigger is missing")
        log(f"  {dump.name}: {dump.stat().st_size // 1024} KB; ledger rows, cards, migrations, stamps: {restored[0]}")

    def clean_up(self) -> None:
        for process in reversed(self.processes):
            if process.popen.returncode is None:
                process.stop(timeout=10)
        if self.google_server is not None:
            self.google_server.shutdown()
            self.google_server.server_close()
        for database in self.databases_made:
            try:
                postgres(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            except Exception as error:  # noqa: BLE001 (report, and go on cleaning)
                log(f"could not drop {database}: {error}")
        try:
            redis_forget(RUN_ID)
        except Exception as error:  # noqa: BLE001
            log(f"could not delete this run's Redis keys: {error}")
        shutil.rmtree(self.directory, ignore_errors=True)

    def report_failure(self, error: BaseException) -> None:
        log(f"FAILED: {error}")
        for process in self.processes:
            log(f"--- last lines of {process.name} ({' '.join(process.command)}):")
            print(process.tail(), flush=True)


def _stop_on_signal(signum, _frame):
    raise SystemExit(f"smoke: stopped by signal {signum}")


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(SmokeFailure(f"over {WHOLE_RUN_SECONDS} s")))
    signal.alarm(WHOLE_RUN_SECONDS)
    started = time.monotonic()
    smoke = SmokeRun()
    try:
        smoke.run()
    except (SmokeFailure, subprocess.TimeoutExpired, OSError) as error:
        smoke.report_failure(error)
        return 1
    except BaseException as error:
        smoke.report_failure(error)
        raise
    finally:
        signal.alarm(0)
        smoke.clean_up()
    log(f"passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
