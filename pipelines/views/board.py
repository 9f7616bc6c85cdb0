"""The pipeline board: one column per stage, drag and drop, quick add, filters in the URL."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path


@login_required
def index(request):
    return render(request, "placeholder.html", {
        "title": "Deals",
        "coming": "Pipeline boards with drag-and-drop deals, forecasts and the pipeline review.",
    })


urlpatterns = [
    path("", index, name="board"),
]
