from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from webapp.accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "full_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    fieldsets = [*BaseUserAdmin.fieldsets, ("Role", {"fields": ["full_name", "role"]})]
