from django.apps import AppConfig


class TilingConfigApp(AppConfig):
    name = "webapp.tiling"
    label = "tiling"
