"""`make test`: choose the database, then run the whole pytest suite.

``TEST_DATABASE_URL`` decides:
- ``sqlite``: the embedded SQLite database (PostgreSQL-only tests skip);
- a ``postgres://`` URL: that server (it must answer);
- unset: PostgreSQL at ``postgres://postgres@127.0.0.1:5432/postgres`` when it
  answers, else SQLite, saying so.
Exit status is pytest's, except that "no tests ran" (5) is a failure.
"""

import os
import sys

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"


def postgres_answers(url: str) -> bool:
    try:
        import psycopg

        dsn = url.replace("postgres://", "postgresql://", 1)
        with psycopg.connect(dsn, connect_timeout=3):
            return True
    except Exception as error:  # any failure means "not usable here"
        print(f"tests: PostgreSQL at {url.split('@')[-1]} is not usable: {error.__class__.__name__}")
        return False


def choose_database() -> str | None:
    wanted = os.environ.get("TEST_DATABASE_URL", "").strip()
    if wanted == "sqlite":
        return None
    if wanted:
        if not postgres_answers(wanted):
            sys.exit(f"tests: TEST_DATABASE_URL={wanted.split('@')[-1]} does not answer")
        return wanted
    return DEFAULT_POSTGRES if postgres_answers(DEFAULT_POSTGRES) else None


def main() -> int:
    url = choose_database()
    env = os.environ
    env.pop("DATABASE_URL", None)
    if url:
        env["DATABASE_URL"] = url
        print(f"tests: database PostgreSQL ({url.split('@')[-1]})")
    else:
        print("tests: database SQLite (PostgreSQL-only tests skip; set TEST_DATABASE_URL to run them)")
    env.setdefault("DEBUG", "true")
    env.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")
    import pytest

    code = pytest.main(sys.argv[1:])
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("tests: no tests ran — that is a failure")
        return 1
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
