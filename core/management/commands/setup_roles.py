from django.core.management.base import BaseCommand

from core.roles import setup_roles


class Command(BaseCommand):
    help = (
        "Create the Viewers and Operators groups with their permissions (idempotent; run on "
        "every deploy). Then put users in a group in the admin: Viewers look, Operators change."
    )

    def handle(self, *args: object, **options: object) -> None:
        for name, group in setup_roles().items():
            self.stdout.write(f"Group {name}: {group.permissions.count()} permissions")
