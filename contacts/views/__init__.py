"""The contacts area's pages, one module per part of it; each module lists its own urlpatterns."""
