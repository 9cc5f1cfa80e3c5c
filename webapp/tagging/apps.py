from django.apps import AppConfig


class TaggingConfig(AppConfig):
    name = "webapp.tagging"
    label = "tagging"
