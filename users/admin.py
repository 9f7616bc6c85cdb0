from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from users.models import ApiKey, Team, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, ("Team", {"fields": ("team",)}))
    list_display = ("username", "email", "first_name", "last_name", "team", "is_staff")
    list_filter = ("team", "groups", "is_staff", "is_active")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "user", "scope", "revoked", "created", "last_used_at")
    list_filter = ("scope", "revoked")
    readonly_fields = ("prefix", "created", "last_used_at")
