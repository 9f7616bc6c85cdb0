from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods

from users import services
from users.forms import ApiKeyCreateForm


@login_required
def settings_index(request):
    return render(request, "users/settings.html", {"title": "Settings"})


@login_required
@require_GET
def api_keys(request):
    keys = request.user.api_keys.all()
    return render(request, "users/api_keys.html", {"title": "API keys", "api_keys": keys})


@login_required
@require_http_methods(["GET", "POST"])
def api_key_create(request):
    form = ApiKeyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            api_key, raw_key = services.api_key_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # The raw key is in this response only: never in a redirect, the session or a log.
            response = render(request, "users/api_key_created.html",
                              {"title": "API key created", "api_key": api_key, "raw_key": raw_key})
            add_never_cache_headers(response)
            return response
    status = 400 if form.errors else 200
    return render(request, "users/api_key_create.html", {"title": "New API key", "form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def api_key_revoke(request, prefix: str):
    api_key = get_object_or_404(request.user.api_keys, prefix=prefix)
    if request.method == "POST":
        services.api_key_revoke(api_key=api_key, by=request.user)
        messages.success(request, f"Revoked the API key “{api_key.name}”. Requests using it now get 401.")
        return redirect("users:api_keys")
    return render(request, "users/api_key_revoke.html", {"title": "Revoke API key", "api_key": api_key})


class LoginView(auth_views.LoginView):
    """Django's login, plus a welcome toast on the page the user lands on."""

    template_name = "users/login.html"
    redirect_authenticated_user = True
    extra_context = {"title": "Log in"}

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        messages.success(self.request, f"Welcome back, {user.first_name or user.get_username()}.")
        return response
