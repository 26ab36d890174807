"""The queue: RQ on Redis, and the `flask worker` command that runs it.

Jobs get their application context from the worker (one app per worker process), take ids
and reload rows, so a retry or a second run changes nothing.
"""

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

QUEUES = ("default",)


def redis_connection():
    """The Redis connection REDIS_URL names, or None in the embedded (in-process) mode."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis

    return Redis.from_url(url)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker_command(burst):
    """Run an RQ worker with its scheduler on the REDIS_URL queues."""
    from rq import Queue, Worker

    connection = redis_connection()
    if connection is None:
        click.echo(
            "REDIS_URL is not set: notices are delivered in-process, no worker is needed.", err=True
        )
        sys.exit(1)
    app = current_app._get_current_object()

    class AppWorker(Worker):
        """Runs every job inside the portal's application context."""

        def perform_job(self, *args, **kwargs):
            with app.app_context():
                return super().perform_job(*args, **kwargs)

    queues = [Queue(name, connection=connection) for name in QUEUES]
    AppWorker(queues, connection=connection).work(burst=burst, with_scheduler=True)


def healthcheck():
    """A job that proves a worker runs with the portal's app context and database."""
    from sqlalchemy import text

    from portal.extensions import db

    return {"app": current_app.name, "database": db.session.scalar(text("SELECT 1")) == 1}
