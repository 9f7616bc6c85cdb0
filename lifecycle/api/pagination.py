from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Stable, cheap pages at any depth. Clients may ask for up to 500 rows a page."""

    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-id"
