"""`python -m amazon_sandbox sandbox <subcommand>`: the control API's operations from a shell."""

from __future__ import annotations

import json
from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError, CommandParser

from amazon_sandbox import control


def _json(value: object) -> str:
    return json.dumps(value, indent=2, default=str)


class Command(BaseCommand):
    help = "Inject faults into the Amazon sandbox and inspect it (see amazon_sandbox/README.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)

        def seller_args(p: ArgumentParser) -> None:
            p.add_argument("seller_id")
            p.add_argument("--region", required=True, choices=["eu", "na"])

        seller_args(sub.add_parser("mint-token", help="self-authorize: print a refresh token"))
        seller_args(sub.add_parser("revoke", help="the seller removes the app"))
        secret = sub.add_parser("client-secret", help="reject or accept the app's client secret")
        secret.add_argument("state", choices=["reject", "accept"])
        app = sub.add_parser("app", help="draft status, redirect URIs, cancel behaviour")
        app.add_argument("--draft", choices=["yes", "no"])
        app.add_argument("--redirect-uri", action="append", dest="redirect_uris")
        app.add_argument("--default-redirect-uris", action="store_true")
        app.add_argument("--cancel-mode", choices=["page", "redirect"])
        fault = sub.add_parser("fault", help="arm a fault for the next N calls or reports")
        fault.add_argument("kind")
        fault.add_argument("--operation", default="")
        fault.add_argument("--count", type=int, default=1)
        fault.add_argument("--seller", default="")
        fault.add_argument("--region", default="")
        fault.add_argument("--report-type", default="")
        fault.add_argument("--hold-seconds", type=float, default=0)
        sub.add_parser("faults", help="list armed faults")
        sub.add_parser("clear-faults", help="disarm every fault")
        report = sub.add_parser("report", help="force a report's outcome or delays")
        report.add_argument("report_id")
        report.add_argument("--outcome", choices=["", "stuck", "fatal", "cancelled"])
        report.add_argument("--queue-seconds", type=float)
        report.add_argument("--processing-seconds", type=float)
        document = sub.add_parser("document", help="damage a document or mislabel its charset")
        document.add_argument("document_id")
        document.add_argument("--corruption", choices=["", "truncate", "corrupt"])
        document.add_argument("--served-charset")
        add = sub.add_parser("add-orders", help="orders placed now in a seller's history")
        seller_args(add)
        add.add_argument("--count", type=int, default=1)
        add.add_argument("--fulfillment", choices=["MFN", "AFN"], default="MFN")
        add.add_argument("--marketplace-id")
        add.add_argument(
            "--cancel-after-seconds",
            type=int,
            help="MFN: the buyer cancels each order this long after its payment",
        )
        orders = sub.add_parser("orders", help="the ground-truth orders of a seller")
        seller_args(orders)
        orders.add_argument("--start", required=True)
        orders.add_argument("--end", required=True)
        sc = sub.add_parser("seller-central-report", help="a report requested in Seller Central")
        seller_args(sc)
        sc.add_argument("report_type")
        sc.add_argument("--marketplace-id", action="append", dest="marketplace_ids")
        sc.add_argument("--start")
        sc.add_argument("--end")
        sub.add_parser("reports", help="every report with its current state")
        history = sub.add_parser("history", help="show or choose the sellers' history")
        history.add_argument("number", nargs="?", type=int, help="0 is the demo's history")
        clock = sub.add_parser("clock", help="show or advance the sandbox clock")
        clock.add_argument("--advance-seconds", type=float)
        notes = sub.add_parser(
            "notifications", help="destinations, subscriptions and the notifications sent"
        )
        notes.add_argument("--seller", default="")
        calls = sub.add_parser("calls", help="the calls the sandbox answered")
        calls.add_argument("--operation", default="")
        calls.add_argument("--seller", default="")
        sub.add_parser("reset", help="forget everything (like sandbox_reset)")

    def handle(self, *args: object, subcommand: str, **o: object) -> None:
        try:
            result = self._run(subcommand, o)
        except control.ControlError as e:
            raise CommandError(str(e)) from e
        self.stdout.write(result if isinstance(result, str) else _json(result))

    def _run(self, subcommand: str, o: dict) -> object:
        if subcommand == "mint-token":
            return control.mint_refresh_token(selling_partner_id=o["seller_id"], region=o["region"])
        if subcommand == "revoke":
            return control.revoke_authorization(
                selling_partner_id=o["seller_id"], region=o["region"]
            )
        if subcommand == "client-secret":
            return control.configure_app(client_secret_accepted=o["state"] == "accept")
        if subcommand == "app":
            uris = [] if o["default_redirect_uris"] else o["redirect_uris"]
            draft = None if o["draft"] is None else o["draft"] == "yes"
            return control.configure_app(
                draft=draft, redirect_uris=uris, cancel_mode=o["cancel_mode"]
            )
        if subcommand == "fault":
            fault = control.arm_fault(
                kind=o["kind"],
                operation=o["operation"],
                count=o["count"],
                selling_partner_id=o["seller"],
                region=o["region"],
                report_type=o["report_type"],
                hold_seconds=o["hold_seconds"],
            )
            return control.fault_json(fault)
        if subcommand == "faults":
            return control.list_faults()
        if subcommand == "clear-faults":
            return {"cleared": control.clear_faults()}
        if subcommand == "report":
            return control.set_report_outcome(
                o["report_id"],
                outcome=o["outcome"],
                queue_seconds=o["queue_seconds"],
                processing_seconds=o["processing_seconds"],
            )
        if subcommand == "document":
            return control.damage_document(
                o["document_id"], corruption=o["corruption"], served_charset=o["served_charset"]
            )
        if subcommand == "add-orders":
            return control.add_orders(
                selling_partner_id=o["seller_id"],
                region=o["region"],
                count=o["count"],
                fulfillment=o["fulfillment"],
                marketplace_id=o["marketplace_id"],
                cancel_after_seconds=o["cancel_after_seconds"],
            )
        if subcommand == "history":
            if o["number"] is None:
                return control.history_state()
            return control.set_history(history=o["number"])
        if subcommand == "orders":
            return control.seller_orders(
                selling_partner_id=o["seller_id"],
                region=o["region"],
                start=o["start"],
                end=o["end"],
            )
        if subcommand == "seller-central-report":
            return control.seller_central_report(
                selling_partner_id=o["seller_id"],
                region=o["region"],
                report_type=o["report_type"],
                marketplace_ids=o["marketplace_ids"],
                data_start=o["start"],
                data_end=o["end"],
            )
        if subcommand == "reports":
            return control.list_reports()
        if subcommand == "clock":
            if o["advance_seconds"] is not None:
                control.advance_clock(seconds=o["advance_seconds"])
            return control.clock_state()
        if subcommand == "notifications":
            return control.notifications_state(selling_partner_id=o["seller"])
        if subcommand == "calls":
            return control.calls(operation=o["operation"], selling_partner_id=o["seller"])
        control.reset()
        return "Amazon sandbox state reset."
