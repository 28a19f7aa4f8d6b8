"""Groups and users keep their permissions across the move to core.

Django ties a permission to a content type (app label, model). The audit log's content type is
renamed to core, so its view/change permissions (and admin history) follow it; the `operate`
permission row moves from the seller account to `ProductPermission`, so every group and user
that had `amazon_settings.operate` has `core.operate`. The rows keep their ids. On a new
database there is nothing to move: Django creates the permissions after migrating.
"""

from django.conf import settings
from django.db import migrations


def _move(apps, *, source: tuple[str, str], target: tuple[str, str], codename: str | None) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    old = ContentType.objects.filter(app_label=source[0], model=source[1]).first()
    if old is None:
        return
    if codename is None:
        # The whole content type moves, unless Django already made the new one (a database
        # migrated one step at a time); then the old one is left as it is.
        if not ContentType.objects.filter(app_label=target[0], model=target[1]).exists():
            ContentType.objects.filter(pk=old.pk).update(app_label=target[0], model=target[1])
        return
    moving = Permission.objects.filter(content_type=old, codename=codename).first()
    if moving is None:
        return
    new, _ = ContentType.objects.get_or_create(app_label=target[0], model=target[1])
    existing = Permission.objects.filter(content_type=new, codename=codename).first()
    if existing is None:
        Permission.objects.filter(pk=moving.pk).update(content_type=new)
        return
    # Django already created the permission at its new place (it does so after every migrate,
    # from the models of that moment): the groups and users of the old row get the existing one.
    User = apps.get_model(settings.AUTH_USER_MODEL)
    Group = apps.get_model("auth", "Group")
    for through, owner in (
        (Group.permissions.through, "group_id"),
        (User.user_permissions.through, f"{User._meta.model_name}_id"),
    ):
        owners = through.objects.filter(permission_id=moving.pk).values_list(owner, flat=True)
        through.objects.bulk_create(
            [through(**{owner: pk, "permission_id": existing.pk}) for pk in owners],
            ignore_conflicts=True,
        )
    Permission.objects.filter(pk=moving.pk).delete()


def forwards(apps, schema_editor):
    _move(
        apps, source=("amazon_settings", "auditevent"), target=("core", "auditevent"), codename=None
    )
    _move(
        apps,
        source=("amazon_settings", "selleraccount"),
        target=("core", "productpermission"),
        codename="operate",
    )


def backwards(apps, schema_editor):
    _move(
        apps, source=("core", "auditevent"), target=("amazon_settings", "auditevent"), codename=None
    )
    _move(
        apps,
        source=("core", "productpermission"),
        target=("amazon_settings", "selleraccount"),
        codename="operate",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("amazon_settings", "0004_auditevent"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
