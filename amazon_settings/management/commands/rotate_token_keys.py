from django.core.management.base import BaseCommand, CommandError

from amazon_settings import services
from amazon_settings.exceptions import TokenDecryptionFailed


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored Amazon refresh token with the first key of "
        "TOKEN_ENCRYPTION_KEYS. To rotate: put a new key first (TOKEN_ENCRYPTION_KEYS=new,old), "
        "restart, run this, then remove the old key and restart again."
    )

    def handle(self, *args: object, **options: object) -> None:
        try:
            count = services.reencrypt_tokens()
        except TokenDecryptionFailed as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"{count} token(s) re-encrypted with the newest key; the older keys can be removed."
        )
