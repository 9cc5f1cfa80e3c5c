from django.apps import AppConfig


class SlidesConfig(AppConfig):
    name = "webapp.slides"
    label = "slides"

    def ready(self) -> None:
        from webapp.slides import access  # noqa: F401 - connects the access-cache signals
