"""What an ``OPTIONS`` request to the API answers: the view's name, description and media types.

DRF's ``SimpleMetadata`` also describes the request body of POST/PUT actions
by calling ``view.get_serializer()``; our viewsets pick a serializer per
action inside each method (there is no ``serializer_class``), so that call
crashed every ``OPTIONS`` into a 500. The request bodies are described, per
operation, in the OpenAPI document at ``/api/schema``.
"""

from rest_framework.metadata import SimpleMetadata


class ViewMetadata(SimpleMetadata):
    """``SimpleMetadata`` without the per-action field descriptions (see ``/api/schema`` for those)."""

    def determine_actions(self, request, view):
        return {}
