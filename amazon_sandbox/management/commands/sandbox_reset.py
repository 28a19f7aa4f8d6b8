from django.core.management.base import BaseCommand

from amazon_sandbox import control


class Command(BaseCommand):
    help = (
        "Forget everything the Amazon sandbox issued and was told (tokens, reports, faults, "
        "added orders, clock offset). A running server keeps its in-memory rate-limit buckets; "
        "POST /_control/reset resets those too."
    )

    def handle(self, *args: object, **options: object) -> None:
        control.reset()
        self.stdout.write("Amazon sandbox state reset.")
