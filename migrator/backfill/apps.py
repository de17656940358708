from django.apps import AppConfig


class BackfillConfig(AppConfig):
    name = "migrator.backfill"
    label = "backfill"
    verbose_name = "Backfill"
