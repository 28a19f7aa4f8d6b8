from django.core.management.base import BaseCommand

from reports.services.email_notifications import send_due_notifications


class Command(BaseCommand):
    help = (
        "Send the e-mail notifications that are due (each occurrence once). The worker does "
        "this by itself; run it from cron as well, so that a stopped worker is reported too."
    )

    def handle(self, *args: object, **options: object) -> None:
        result = send_due_notifications()
        self.stdout.write(f"{result.sent} notification(s) sent, {result.failed} failed.")
