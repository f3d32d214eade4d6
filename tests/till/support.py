"""What the till's browser tests need: a camera video made from a card's QR data, a Chromium that films it,
and an HTTP proxy that can lose an answer after the server has committed.
"""

import http.client
import shutil
import socket
import tempfile
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import qrcode
from PIL import Image, ImageDraw

from tests.browser.conftest import CHROMIUM_ARGUMENTS, _unavailable, browser_viewport

VIDEO_SIZE = (640, 480)


# --- The camera: a Y4M video Chromium plays as its fake webcam ------------------------------------------------


def camera_frame(qr_data: str | None) -> Image.Image:
    """A counter seen by the camera: grey, with the customer's phone screen showing the QR code (or nothing)."""
    frame = Image.new("L", VIDEO_SIZE, 110)
    canvas = ImageDraw.Draw(frame)
    canvas.rounded_rectangle((190, 60, 450, 420), radius=24, fill=30)  # the phone
    canvas.rectangle((200, 90, 440, 390), fill=235)  # its screen
    if qr_data is not None:
        code = qrcode.make(qr_data, box_size=6, border=2).get_image().convert("L")
        frame.paste(code, ((VIDEO_SIZE[0] - code.width) // 2, (VIDEO_SIZE[1] - code.height) // 2))
    return frame


def write_y4m(path: Path, frames: list[Image.Image], *, frames_per_second: int = 10) -> Path:
    """YUV4MPEG2, 4:2:0: the luma plane is the grey picture, both chroma planes neutral."""
    width, height = frames[0].size
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with open(path, "wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F{frames_per_second}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            video.write(b"FRAME\n" + frame.convert("L").tobytes() + chroma + chroma)
    return path


def camera_video(path: Path, qr_data: str | None, *, seconds: int = 2) -> Path:
    return write_y4m(path, [camera_frame(qr_data)] * (10 * seconds))


# --- Chromium with the fake camera --------------------------------------------------------------------------------


@contextmanager
def chromium_with_camera(chromium_executables, directory: Path, video: Path):
    """A headless Chromium whose camera films ``video`` and that is allowed to use it without asking."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = chromium_executables
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in CHROMIUM_ARGUMENTS:
        options.add_argument(argument)
    profile = tempfile.mkdtemp(prefix="chromium-till-", dir=directory)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument("--window-size=1280,800")
    options.add_argument("--use-fake-device-for-media-stream")
    options.add_argument("--use-fake-ui-for-media-stream")
    options.add_argument(f"--use-file-for-fake-video-capture={video}")
    options.add_argument("--autoplay-policy=no-user-gesture-required")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    except Exception as error:
        _unavailable(f"Chromium could not start ({error.__class__.__name__}: {str(error).splitlines()[0]})")
    driver.set_page_load_timeout(30)
    browser_viewport(driver, 1280, 800)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# --- Shaky Wi-Fi: a proxy that loses chosen answers ---------------------------------------------------------------

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}


class LosingProxy:
    """Forwards every request to the live server. For a request picked by ``lose_next`` it reads the server's
    whole answer (the operation has run and committed), then closes the browser's connection without a byte;
    one picked by ``refuse_next`` gets a 503 ``SERVICE_UNAVAILABLE`` and never reaches the server.

    ``requests`` lists (method, path, Idempotency-Key, status the server answered, whether it was lost).
    """

    def __init__(self, upstream_url: str):
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname, parts.port)
        self.requests: list[tuple[str, str, str | None, int, bool]] = []
        self.to_lose: list = []
        self.to_refuse: list = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # quiet
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if proxy._take(proxy.to_refuse, self.command, self.path):
                    # what the API answers when the database is away: nothing ran, retry
                    key = self.headers.get("Idempotency-Key")
                    with proxy._lock:
                        proxy.requests.append((self.command, self.path, key, 503, False))
                    content = b'{"error": {"code": "SERVICE_UNAVAILABLE", "message": "Retry.", "details": {}}}'
                    self.send_response_only(503)
                    for name, value in (("Content-Type", "application/json"), ("Retry-After", "1")):
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(content)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(content)
                    self.close_connection = True
                    return
                headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
                headers["Connection"] = "close"
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    content = answer.read()
                finally:
                    upstream.close()
                lost = proxy._take(proxy.to_lose, self.command, self.path)
                with proxy._lock:
                    proxy.requests.append(
                        (self.command, self.path, self.headers.get("Idempotency-Key"), answer.status, lost)
                    )
                self.close_connection = True
                if lost:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response_only(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.send_header("Connection", "close")  # a new connection per request: no silent browser resend
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def lose_next(self, method: str, path: str, count: int = 1) -> None:
        """Lose the answers of the next ``count`` requests with this method and path."""
        with self._lock:
            self.to_lose.extend([(method, path)] * count)

    def refuse_next(self, method: str, path: str, count: int = 1) -> None:
        """Answer the next ``count`` such requests with a 503 without passing them on (nothing runs)."""
        with self._lock:
            self.to_refuse.extend([(method, path)] * count)

    def _take(self, pending: list, method: str, path: str) -> bool:
        with self._lock:
            if (method, path) in pending:
                pending.remove((method, path))
                return True
            return False

    def sent(self, method: str, path: str) -> list[tuple[str, str, str | None, int, bool]]:
        with self._lock:
            return [request for request in self.requests if request[0] == method and request[1] == path]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()
