from rest_framework import pagination
from rest_framework.exceptions import NotFound

from loyalty_site.api.fields import is_ascii_digits


class PageNumberPagination(pagination.PageNumberPagination):
    """``{"count", "next", "previous", "results"}`` with ``page`` and ``page_size`` (max 100).

    Both are read in ASCII digits only: ``int()`` (under DRF and Django's
    paginator) also reads "١" or "1_0". Another ``page`` is a 404 like a page
    past the end; another ``page_size`` falls back to the default like "abc".
    """

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_number(self, request, paginator):
        number = super().get_page_number(request, paginator)
        if isinstance(number, str) and not is_ascii_digits(number):  # "last" is a number by now
            raise NotFound(self.invalid_page_message)
        return number

    def get_page_size(self, request):
        requested = request.query_params.get(self.page_size_query_param)
        if requested is not None and not is_ascii_digits(requested):
            return self.page_size
        return super().get_page_size(request)
