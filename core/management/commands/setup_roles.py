from django.core.management.base import BaseCommand

from core.roles import setup_roles


class Command(BaseCommand):
    help = (
        "Create the Viewers, Operators, Administrators and Buyer data groups with their "
        "permissions (idempotent; run on every deploy). Then set users' roles on the Users page "
        "(Administration » Users): Viewers look, Operators change, Administrators also manage "
        "users."
    )

    def handle(self, *args: object, **options: object) -> None:
        for name, group in setup_roles().items():
            self.stdout.write(f"Group {name}: {group.permissions.count()} permissions")
