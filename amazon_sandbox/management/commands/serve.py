from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from waitress import serve


class Command(BaseCommand):
    help = (
        "Serve the Amazon sandbox over HTTP (migrates its own database first) and publish its "
        "notifications."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args: object, host: str, port: int, threads: int, **options: object) -> None:
        from django.core.wsgi import get_wsgi_application

        from amazon_sandbox.notifications import start_publisher

        call_command("migrate", interactive=False, verbosity=0)
        # Amazon pushes notifications without being asked: the publisher runs beside the
        # HTTP threads for as long as the server does.
        start_publisher()
        self.stdout.write(f"Amazon sandbox listening on http://{host}:{port}/", ending="\n")
        self.stdout.flush()
        serve(get_wsgi_application(), host=host, port=port, threads=threads, ident="sandbox")
