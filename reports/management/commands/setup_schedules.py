from django.core.management.base import BaseCommand

from reports.services.worker import register_schedules


class Command(BaseCommand):
    help = "Register the background worker's schedules (idempotent; run on every deploy)."

    def handle(self, *args: object, **options: object) -> None:
        for schedule in register_schedules():
            self.stdout.write(f"Schedule {schedule.name}: {schedule.func}")
