from django.apps import AppConfig


class ReceiptsConfig(AppConfig):
    name = "migrator.receipts"
    label = "receipts"
    verbose_name = "Migration receipts"
