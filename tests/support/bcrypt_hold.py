"""Hold one PIN's bcrypt check, to prove what other work goes on while a PIN is being checked."""

import threading
from contextlib import contextmanager

import bcrypt


@contextmanager
def bcrypt_held(pin: str):
    """While inside, a ``bcrypt.checkpw`` of ``pin`` waits (at most 60 s) until ``release`` is set.

    Yields ``(inside_bcrypt, release)``: ``inside_bcrypt`` is set once the held check has begun.
    Other PINs are checked as usual. ``bcrypt.checkpw`` is restored on the way out.
    """
    inside_bcrypt, release = threading.Event(), threading.Event()
    real_checkpw = bcrypt.checkpw

    def held_checkpw(password, hashed):
        if password == pin.encode():
            inside_bcrypt.set()
            release.wait(60)
        return real_checkpw(password, hashed)

    bcrypt.checkpw = held_checkpw
    try:
        yield inside_bcrypt, release
    finally:
        release.set()
        bcrypt.checkpw = real_checkpw
