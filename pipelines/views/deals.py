"""The deal side panel and page, and the deal list with its bulk actions."""

urlpatterns: list = []
