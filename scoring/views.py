from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def index(request):
    return render(request, "placeholder.html", {
        "title": "Scoring",
        "coming": "Customer Fit and Engagement score models with explainable points.",
    })
