"""Command line: `flask --app portal demo | doctor | import | users create`."""

import sys
import time
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from portal.core.errors import ServiceError
from portal.core.imports import IMPORTERS
from portal.extensions import db

users_cli = AppGroup("users", help="Manage staff accounts.")


@click.command("import")
@click.argument("kind", type=click.Choice(list(IMPORTERS)))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--estate", "estate_name", help="The estate the rows belong to.")
@click.option(
    "--company",
    "company_name",
    help="The company whose estates the rows name; new estates join it (created when new).",
)
@click.option("--check", is_flag=True, help="Validate only; write nothing.")
def import_command(kind, file, estate_name, company_name, check):
    """Import KIND from FILE (.csv in UTF-8 or .xlsx); nothing is written if any row is wrong."""
    from portal.core.imports import run_import

    try:
        report = run_import(
            kind,
            file.name,
            file.read_bytes(),
            estate_name=estate_name,
            company_name=company_name,
            dry_run=check,
        )
    except ServiceError as exc:
        db.session.rollback()
        click.echo(f"{file}: {exc.message}", err=True)
        sys.exit(1)
    if not report.ok:
        db.session.rollback()
        for error in report.errors:
            click.echo(f"{file}:{error.line}: {error.message}", err=True)
        click.echo(f"{len(report.errors)} error(s); nothing was imported.", err=True)
        sys.exit(1)
    if check:
        click.echo(f"{report.rows} rows are valid; nothing was written (--check).")
        return
    db.session.commit()
    click.echo(
        f"{kind}: {report.rows} rows, {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged."
    )


@users_cli.command("create")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    help="frontdesk, zone_butler, technician, supervisor, manager, inspector, guard or admin.",
)
@click.option("--estate", "estate_name", help="The estate; leave out for company-wide roles.")
@click.option("--name", help="The person's name (defaults to the username).")
@click.option("--phone", help="Mobile phone number, also usable to sign in.")
@click.option("--password", help="Asked for when not given.")
def create_user(username, role, estate_name, name, phone, password):
    """Create a staff account; this is how the first administrator is made."""
    from portal.core import accounts

    try:
        estate = accounts.find_estate(estate_name) if estate_name else None
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        user = accounts.create_staff(
            username, name=name, role=role, password=password, estate=estate, phone=phone
        )
    except ServiceError as exc:
        db.session.rollback()
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)
    db.session.commit()
    where = estate.name if estate else "all estates"
    click.echo(f"Created {user.username} ({role}, {where}).")


@users_cli.command("zones")
@click.argument("username")
@click.argument("zones", nargs=-1)
def set_zones(username, zones):
    """Set the zones a zone butler looks after, by name (none: no zone)."""
    from sqlalchemy import select

    from portal.core.butler_zones import set_butler_zones
    from portal.core.people import User
    from portal.core.places import Zone

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or user.staff_role is None:
        click.echo(f"Error: there is no staff account {username}.", err=True)
        sys.exit(1)
    staff, ids = user.staff_role, []
    for name in zones:
        zone_id = db.session.scalar(
            select(Zone.id).where(Zone.estate_id == staff.estate_id, Zone.name == name)
        )
        if zone_id is None:
            click.echo(f"Error: the estate has no zone {name}.", err=True)
            sys.exit(1)
        ids.append(zone_id)
    try:
        set_butler_zones(staff, ids, actor=None)
    except ServiceError as exc:
        db.session.rollback()
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"{username} looks after: {', '.join(zones) or 'no zone'}.")


@click.command("demo")
def demo_command():
    """Load the demo estate and logins once; running it again changes nothing."""
    from portal.demo import DEMO_LOGINS, DEMO_PASSWORD, demo_summary, load_demo

    started = time.monotonic()
    created = load_demo(progress=click.echo)
    db.session.commit()
    if created:
        click.echo(f"Demo estate loaded in {time.monotonic() - started:.0f} s: {demo_summary()}.")
    else:
        click.echo("Demo estate already present; unchanged.")
    click.echo(f"Demo logins (password {DEMO_PASSWORD}): " + ", ".join(DEMO_LOGINS))


@click.command("doctor")
def doctor_command():
    """Check what the portal needs from this machine; say how to fix what is missing."""
    from portal.pdf import CJK_FONT_PACKAGE, cjk_fonts

    fonts = cjk_fonts()
    if fonts:
        click.echo(f"PDF fonts for Chinese: {', '.join(fonts[:3])}" + (" …" if fonts[3:] else ""))
        return
    click.secho(
        "Warning: no Chinese (CJK) font is installed: every PDF (receipts, work orders, "
        "notices, reports) would print empty boxes instead of Chinese characters.\n"
        f"Install one with:  sudo apt-get install {CJK_FONT_PACKAGE}",
        fg="yellow",
        err=True,
    )


def register_cli(app: Flask):
    from portal.worker import worker_command

    app.cli.add_command(worker_command)
    app.cli.add_command(import_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(doctor_command)
