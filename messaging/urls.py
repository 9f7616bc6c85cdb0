from django.urls import path

from messaging import views

app_name = "messaging"
urlpatterns = [
    path("", views.index, name="index"),
]
