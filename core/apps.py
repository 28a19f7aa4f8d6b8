from django.apps import AppConfig
from django.db.models.signals import post_migrate


def create_cache_tables(*, using: str, **kwargs: object) -> None:
    """`migrate` creates the database cache's table, so no deployment needs `createcachetable`.

    The embedded default keeps Django's cache (access tokens shared by the web and worker
    processes) in the database; the command is idempotent and does nothing for other caches.
    """
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    """What every app uses and no app owns: roles, the audit log, navigation, pagination and
    shared template tags. It imports none of the product's apps."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from core.preferences import remember_at_login

        post_migrate.connect(create_cache_tables, sender=self)
        user_logged_in.connect(remember_at_login, dispatch_uid="core.preferences.remember")
