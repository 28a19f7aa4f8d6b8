"""Run the Amazon sandbox's commands with its own settings: `python -m amazon_sandbox serve`."""

import os
import sys

from django.core.management import execute_from_command_line


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "amazon_sandbox.settings"
    execute_from_command_line([f"{sys.executable} -m amazon_sandbox", *sys.argv[1:]])


if __name__ == "__main__":
    main()
