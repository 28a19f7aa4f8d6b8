"""Set up and run the whole product on embedded defaults: `make demo`.

SQLite, the django-q2 ORM broker, the Amazon sandbox and a local SQS (moto's server mode) that
the sandbox pushes Amazon's notifications to; the web server, the worker, the notification
consumer, the sandbox and the SQS server run in the foreground until Ctrl-C, which stops all of
them. Running it again reuses the database, the secrets and the demo login in VAR_DIR (the SQS
server keeps nothing: its queue is made anew, empty, on every start).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DEMO_USERNAME = "demo"


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


# moto's account id: the queue's URL and ARN are the same on every start.
SQS_ACCOUNT = "123456789012"
SQS_REGION = "eu-west-1"
QUEUE_NAME = "amazon-order-import"


def queue_url(sqs_port: int) -> str:
    return f"http://{HOST}:{sqs_port}/{SQS_ACCOUNT}/{QUEUE_NAME}"


def demo_environment(
    port: int, sandbox_port: int, var_dir: Path, *, sqs_port: int
) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DEMO_MODE", "1")
    env.setdefault("VAR_DIR", str(var_dir))
    env.setdefault("AMAZON_SANDBOX_URL", f"http://{HOST}:{sandbox_port}")
    env.setdefault("SANDBOX_DATA_DIR", str(var_dir / "sandbox"))
    # Push: the sandbox sends its notifications to the local SQS, the product's consumer reads
    # them there. boto3 takes the endpoint, region and (any) credentials from the environment,
    # as it takes AWS's in production.
    sqs = f"http://{HOST}:{sqs_port}"
    env.setdefault("SANDBOX_SQS_ENDPOINT_URL", sqs)
    env.setdefault("AWS_ENDPOINT_URL_SQS", sqs)
    env.setdefault("PUSH_SQS_QUEUE_URL", queue_url(sqs_port))
    env.setdefault("AWS_DEFAULT_REGION", SQS_REGION)
    env.setdefault("AWS_ACCESS_KEY_ID", "demo")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "demo")
    # A lost notification shows on Settings within a minute instead of ten.
    env.setdefault("PUSH_GRACE_SECONDS", "60")
    # The demo shows the worker at work within seconds rather than minutes.
    env.setdefault("WORKER_INTERVAL_SECONDS", "10")
    # One worker process runs the sub-minute tick loop; the others do the reports.
    env.setdefault("Q_WORKERS", "3")
    env.setdefault("SANDBOX_TIME_FACTOR", "60")
    # E-mail notifications are printed here (Django's console backend, in the worker's
    # output), with links to this dashboard.
    env.setdefault("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
    env.setdefault("SITE_URL", f"http://{HOST}:{port}")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def demo_password(var_dir: Path) -> str:
    path = var_dir / "demo_password"
    if not path.exists():
        # Created readable by this user only, before the password is written into it.
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        path.write_text(secrets.token_urlsafe(9))
    return path.read_text().strip()


def prepare_database(env: dict[str, str], password: str) -> None:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("setup_schedules", verbosity=0)
    call_command("setup_roles", verbosity=0)
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username=DEMO_USERNAME, defaults={"is_staff": True, "is_superuser": True}
    )
    # An address, so that the demo's e-mail notifications have someone to go to (printed).
    user.email = user.email or "demo@example.invalid"
    user.set_password(password)
    user.save()


def make_queue(env: dict[str, str], processes: dict[str, subprocess.Popen]) -> bool:
    """Wait for the SQS server and make the notification queue (moto keeps nothing between
    starts). False when the server did not come up."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "sqs",
        endpoint_url=env["AWS_ENDPOINT_URL_SQS"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if processes["sqs"].poll() is not None:
            return False
        try:
            client.create_queue(QueueName=env["PUSH_SQS_QUEUE_URL"].rsplit("/", 1)[1])
            return True
        except (BotoCoreError, ClientError):
            time.sleep(0.3)
    return False


def wait_for(url: str, processes: dict[str, subprocess.Popen], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in processes.values()):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status < 500:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


# What the product's processes talk to: stopped once they are gone, so that a consumer or worker
# still finishing never meets a closed queue or sandbox (and logs that it could not reach it).
STOPPED_LAST = ("sandbox", "sqs")


def stop_all(processes: dict[str, subprocess.Popen]) -> None:
    product = {name: proc for name, proc in processes.items() if name not in STOPPED_LAST}
    stand_ins = {name: proc for name, proc in processes.items() if name in STOPPED_LAST}
    for group in (product, stand_ins):
        for proc in group.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in group.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    sandbox_port = int(os.environ.get("SANDBOX_PORT", str(port + 1)))
    sqs_port = int(os.environ.get("SQS_PORT", str(port + 2)))
    var_dir = Path(os.environ.get("VAR_DIR", BASE_DIR / "var")).resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    for name, value in (("PORT", port), ("SANDBOX_PORT", sandbox_port), ("SQS_PORT", sqs_port)):
        if not port_is_free(value):
            print(
                f"Port {value} on {HOST} is already in use. Stop what runs there, "
                f"or choose another port: make demo {name}=<port>",
                file=sys.stderr,
            )
            return 2

    env = demo_environment(port, sandbox_port, var_dir, sqs_port=sqs_port)
    password = demo_password(var_dir)
    print("Preparing the database…", flush=True)
    prepare_database(env, password)

    python = sys.executable
    commands = {
        # First: the queue must exist before the sandbox sends and the consumer reads.
        "sqs": [python, "-m", "moto.server", "-H", HOST, "-p", str(sqs_port)],
        "sandbox": [
            python,
            "-m",
            "amazon_sandbox",
            "serve",
            "--host",
            HOST,
            "--port",
            str(sandbox_port),
        ],
        "web": [
            python,
            "-m",
            "gunicorn",
            f"--bind={HOST}:{port}",
            # Processes, so that one slow page never holds up the others.
            f"--workers={env.get('WEB_WORKERS', '3')}",
            "--threads=4",
            # Longer than any pause of a client that reuses its connection (gunicorn's 2 s
            # default resets a connection a polling page is about to reuse).
            "--keep-alive=75",
            "--graceful-timeout=5",
            "config.wsgi:application",
        ],
        "worker": [python, "manage.py", "qcluster"],
        # Started with the worker: takes Amazon's notifications from the queue.
        "notifications": [python, "manage.py", "consume_notifications"],
    }
    processes: dict[str, subprocess.Popen] = {}
    # Ctrl-C reaches the whole foreground process group; we stop the children ourselves, in
    # their own groups, so a child never outlives the demo.
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        for name, command in commands.items():
            # moto's server logs every request it answers: to a file, not between our lines.
            log = (var_dir / "sqs.log").open("ab") if name == "sqs" else None
            processes[name] = subprocess.Popen(  # noqa: S603 (our own commands)
                command,
                cwd=BASE_DIR,
                env=env,
                start_new_session=True,
                stdout=log,
                stderr=subprocess.STDOUT if log else None,
            )
            if log:
                log.close()
            if name == "sqs" and not make_queue(env, processes):
                print(
                    "The demo did not start: the local SQS server did not answer.", file=sys.stderr
                )
                return 1
        dashboard = f"http://{HOST}:{port}/"
        if not wait_for(f"{dashboard}login/", processes) or not wait_for(
            f"http://{HOST}:{sandbox_port}/", processes
        ):
            failed = [name for name, proc in processes.items() if proc.poll() is not None]
            print(f"The demo did not start: {', '.join(failed) or 'timed out'}.", file=sys.stderr)
            return 1
        print("", flush=True)
        print(f"Dashboard: {dashboard}", flush=True)
        print(f"Login: {DEMO_USERNAME} / {password}  (demo only)", flush=True)
        print(f"Amazon sandbox: http://{HOST}:{sandbox_port}/", flush=True)
        print(f"SQS: {env['PUSH_SQS_QUEUE_URL']}", flush=True)
        print(
            "Press Ctrl-C to stop the web server, the worker, the notification consumer, "
            "the sandbox and the SQS server.",
            flush=True,
        )
        while not stopping:
            exited = [name for name, proc in processes.items() if proc.poll() is not None]
            if exited:
                print(
                    f"{', '.join(exited)} stopped unexpectedly; stopping the demo.", file=sys.stderr
                )
                return 1
            time.sleep(0.5)
        print("Stopping…", flush=True)
        return 0
    finally:
        stop_all(processes)


if __name__ == "__main__":
    sys.exit(main())
