from django.urls import path

from pipelines import views

app_name = "pipelines"
urlpatterns = [
    path("", views.index, name="board"),
]
