from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles_after_prompts_migrate(sender, **kwargs) -> None:
    """Core syncs roles after *its* post_migrate, when the permission rows of apps listed after core do not
    exist yet on a fresh database. Syncing again after this app's and after the last app's post_migrate gives
    every role its app permissions. Idempotent."""
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    with_models = [config.label for config in apps.get_app_configs() if config.models_module is not None]
    if getattr(sender, "label", None) not in ("prompts", with_models[-1] if with_models else "prompts"):
        return

    from migrator.core.roles import sync_roles

    sync_roles(Group, Permission)


class PromptsConfig(AppConfig):
    name = "migrator.prompts"
    label = "prompts"
    verbose_name = "Prompts"

    def ready(self) -> None:
        from migrator.core.signals import assistant_definition_changed
        from migrator.prompts import receivers

        assistant_definition_changed.connect(
            receivers.regenerate_after_drift, dispatch_uid="migrator.prompts.regenerate_after_drift"
        )
        post_migrate.connect(_sync_roles_after_prompts_migrate, dispatch_uid="migrator.prompts.sync_roles")
