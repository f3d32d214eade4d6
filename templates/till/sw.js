{% autoescape off %}// The till's service worker: keeps the app shell (page, scripts, styles, icons) so the till opens fast and
// from the home screen. It never stores an API answer or the token: /api/ requests are not touched at all.
// Served by Django at {{ page }}sw.js so that its scope is {{ page }}; the version changes with every shell file.
const VERSION = "till-{{ version }}";
const SHELL = {{ shell_json }};
const PAGE = "{{ page }}";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(VERSION)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith("till-") && name !== VERSION).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) {
    return; // the network, untouched: API calls, writes, other origins
  }
  if (request.mode === "navigate" && url.pathname === PAGE) {
    // The page first from the network (its language and version may have changed), the kept copy when offline.
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            caches.open(VERSION).then((cache) => cache.put(PAGE, copy));
          }
          return response;
        })
        .catch(() => caches.match(PAGE, { ignoreVary: true })),
    );
    return;
  }
  if (SHELL.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname, { ignoreVary: true }).then((kept) => kept || fetch(request)));
  }
});
{% endautoescape %}
