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
