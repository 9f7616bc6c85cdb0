from django.urls import path

from automations import views

app_name = "automations"
urlpatterns = [
    path("", views.index, name="list"),
]
