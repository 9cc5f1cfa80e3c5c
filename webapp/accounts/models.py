from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    PATHOLOGIST = "pathologist", "Pathologist"
    VIEWER = "viewer", "Viewer"


class User(AbstractUser):
    """A person using the platform; what they may do follows from `role` alone."""

    full_name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)


class TokenScope(models.TextChoices):
    READ = "read", "Read only"
    FULL = "full", "Full (the user's role)"


class ApiToken(models.Model):
    """A named personal token for tools (`Authorization: Token rv_…` or `Bearer rv_…`).

    Only the SHA-256 digest of the key is stored; the key is shown once, when created. A
    `read` token may only use safe methods (GET, HEAD, OPTIONS), anywhere in the API.
    """

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=4, choices=TokenScope.choices, default=TokenScope.READ)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16, help_text="The key's first characters, for display.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_created")]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.scope}) of {self.user_id}"

    @property
    def read_only(self) -> bool:
        return self.scope == TokenScope.READ
