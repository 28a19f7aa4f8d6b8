import getpass

from django.core.management.base import BaseCommand, CommandError, CommandParser

from amazon_settings import services
from amazon_settings.exceptions import AmazonSettingsError
from amazon_settings.forms import SelfAuthorizationForm


class Command(BaseCommand):
    help = (
        "Connect an Amazon seller account with a self-authorization refresh token, for scripted "
        "set-ups. The token is read from --refresh-token-file or prompted for (never an argument, "
        "so it stays out of shell history), tested with a call to Amazon and saved encrypted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--selling-partner-id", required=True)
        parser.add_argument("--region", required=True, choices=["eu", "na"])
        parser.add_argument("--name", default="", help="Display name (default: the store name)")
        parser.add_argument("--refresh-token-file", help="A file holding the refresh token")
        parser.add_argument(
            "--import-orders", action="store_true", help="Switch order import on at once"
        )

    def handle(self, *args: object, **options: object) -> None:
        if options["refresh_token_file"]:
            with open(options["refresh_token_file"]) as handle:
                refresh_token = handle.read().strip()
        else:
            refresh_token = getpass.getpass("Refresh token (Atzr|…): ").strip()
        form = SelfAuthorizationForm(
            {
                "selling_partner_id": options["selling_partner_id"],
                "region": options["region"],
                "display_name": options["name"],
                "refresh_token": refresh_token,
            }
        )
        if not form.is_valid():
            problems = "; ".join(
                f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()
            )
            raise CommandError(problems)
        try:
            account = services.self_authorize(acting_user=None, **form.cleaned_data)
            if options["import_orders"]:
                services.set_order_import(account, active=True)
        except AmazonSettingsError as error:
            raise CommandError(str(error)) from error
        marketplaces = ", ".join(m.country_code for m in account.marketplaces.all())
        self.stdout.write(
            self.style.SUCCESS(f"Connected {account} with marketplaces {marketplaces}.")
        )
