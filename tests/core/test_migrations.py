"""The move to core keeps every group's and user's permissions (core migration 0002)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from core.roles import OPERATE_PERMISSION

pytestmark = pytest.mark.django_db

move = importlib.import_module("core.migrations.0002_permissions_follow_their_models")


def old_operate_permission() -> Permission:
    """`amazon_settings.operate` as a database set up before core existed holds it."""
    seller_account = ContentType.objects.get(app_label="amazon_settings", model="selleraccount")
    return Permission.objects.create(
        content_type=seller_account, codename="operate", name="Can operate"
    )


def holders(permission: Permission) -> tuple[Group, object]:
    group = Group.objects.create(name="Old operators")
    group.permissions.add(permission)
    user = get_user_model().objects.create_user("direct")
    user.user_permissions.add(permission)
    return group, user


def test_the_operate_permission_row_moves_with_its_holders():
    Permission.objects.filter(content_type__app_label="core", codename="operate").delete()
    old = old_operate_permission()
    group, user = holders(old)

    move.forwards(apps, None)
    move.forwards(apps, None)  # run twice: nothing more changes

    moved = Permission.objects.get(pk=old.pk)
    assert moved.content_type.app_label == "core"
    assert get_user_model().objects.get(pk=user.pk).has_perm(OPERATE_PERMISSION)
    assert group.permissions.filter(pk=old.pk).exists()


def test_holders_of_the_old_row_get_the_one_django_already_made():
    existing = Permission.objects.get(content_type__app_label="core", codename="operate")
    old = old_operate_permission()
    group, user = holders(old)

    move.forwards(apps, None)

    assert not Permission.objects.filter(pk=old.pk).exists()
    assert group.permissions.filter(pk=existing.pk).exists()
    assert get_user_model().objects.get(pk=user.pk).has_perm(OPERATE_PERMISSION)


def test_the_audit_log_content_type_is_renamed_with_its_permissions():
    ContentType.objects.filter(app_label="core", model="auditevent").delete()
    old = ContentType.objects.create(app_label="amazon_settings", model="auditevent")
    view = Permission.objects.create(content_type=old, codename="view_auditevent", name="View")

    move.forwards(apps, None)

    assert ContentType.objects.get(pk=old.pk).app_label == "core"
    assert Permission.objects.get(pk=view.pk).content_type_id == old.pk
