"""The one list of periodic jobs: run by RQ's cron scheduler beside `flask worker`, or in
the embedded mode (no Redis) by the web process's background runner (portal/jobs.py)."""

from dataclasses import dataclass

from werkzeug.utils import import_string


@dataclass(frozen=True)
class Periodic:
    """A job function (dotted path) and how often it runs: every `interval` s or a cron line."""

    func: str
    interval: int | None = None
    cron: str | None = None

    def seconds_to_next(self) -> float:
        """Seconds from now until the next run (the embedded runner's timetable)."""
        if self.interval:
            return float(self.interval)
        from datetime import datetime

        from croniter import croniter

        now = datetime.now().astimezone()  # cron lines are in local time, as RQ reads them
        return (croniter(self.cron, now).get_next(datetime) - now).total_seconds()


PERIODIC = [
    # Hand on notices that are due (scheduled, held by quiet hours, retried, or left
    # waiting while Redis or a worker was down).
    Periodic("portal.notify.outbox.sweep_outbox", interval=60),
    # Repairs: warn before the time limit, escalate at it and after it (each rung once).
    Periodic("portal.blueprints.repairs.services.sweep_overdue", interval=300),
    # Complaints: replies overdue (48 h, or the agreed next reply time) go up the ladder.
    Periodic("portal.blueprints.complaints.services.sweep_overdue_replies", interval=300),
    # Fees: the reminder ladder (each step once per bill), and online orders that expired.
    Periodic("portal.blueprints.fees.reminders.sweep_reminders", interval=900),
    Periodic("portal.blueprints.fees.online.expire_orders", interval=300),
    # Start jobs whose row was committed while the queue was unreachable.
    # Renovations: an approved one's unit is under renovation from its start day.
    Periodic("portal.blueprints.renovation.effects.start_due_renovations", interval=3600),
    Periodic("portal.jobs.sweep_jobs", interval=60),
]


def build_cron(connection, scheduler_class=None):
    """RQ's CronScheduler (or a subclass) with every periodic job registered."""
    from rq.cron import CronScheduler

    cron = (scheduler_class or CronScheduler)(connection=connection)
    for job in PERIODIC:
        cron.register(
            import_string(job.func), "default", interval=job.interval, cron=job.cron, result_ttl=600
        )
    return cron
