"""Content negotiation that never refuses: a view answers in its own first format when asked for another.

The API speaks JSON only (``DEFAULT_RENDERER_CLASSES``). DRF's own negotiation
answers ``Accept: text/html`` with a 406 and ``?format=xml`` with a 404; before
the renderers were pinned it picked the browsable HTML renderer, which fails on
our viewsets after the view has run, so a committed write came back as a 500.
Here ``Accept`` and ``?format=`` choose among the view's renderers when one
matches (the OpenAPI document's ``?format=json``) and otherwise fall back to the
view's first renderer: JSON for the API, YAML for ``/api/schema``, HTML for
``/api/docs``. No request is refused or failed for what it asked to get back.
"""

from django.http import Http404
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation


class FallbackContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except (exceptions.NotAcceptable, Http404):
            # DefaultContentNegotiation raises Http404 for an unknown ?format=.
            return renderers[0], renderers[0].media_type
