"""Customer pages (being built: issue 7)."""

from django.http import Http404


def join(request, store_code):
    raise Http404


def poster(request, store_code):
    raise Http404


def card(request, token):
    raise Http404
