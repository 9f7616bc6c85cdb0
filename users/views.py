from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def settings_index(request):
    return render(request, "users/settings.html", {"title": "Settings"})
