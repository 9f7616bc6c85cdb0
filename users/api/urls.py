from django.urls import path

from users.api import views

app_name = "users-api"
urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
]
