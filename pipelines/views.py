from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def index(request):
    return render(request, "placeholder.html", {
        "title": "Deals",
        "coming": "Pipeline boards with drag-and-drop deals, forecasts and the pipeline review.",
    })
