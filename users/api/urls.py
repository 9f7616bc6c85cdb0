from django.urls import path
from rest_framework.routers import SimpleRouter

from users.api import views

app_name = "users-api"

router = SimpleRouter()
router.register("teams", views.TeamViewSet, basename="team")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    *router.urls,
]
