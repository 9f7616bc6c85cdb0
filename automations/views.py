from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def index(request):
    return render(request, "placeholder.html", {
        "title": "Automations",
        "coming": "Visual automations triggered by events, forms, segments and deal moves.",
    })
