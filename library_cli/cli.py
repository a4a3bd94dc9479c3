"""The `library` command (Typer): one subcommand per thing an operator does after `pulumi up`.

Every subcommand takes `--stack` (default `dev`) and `--outputs FILE` (a saved
`pulumi stack output --json --show-secrets`, instead of asking the Pulumi CLI).
docs/operations.md tells the story.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import docker.errors
import maintenance as proxy_maintenance
import typer
from docker_engine import Engine
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from library_cli import commands, logs, ship, status, terminal
from library_cli.stack import (
    EXIT_UNHEALTHY,
    OperatorError,
    Stack,
    connect,
    connect_engine,
    container,
    load_stack,
)

app = typer.Typer(
    name="library",
    help="Operate a deployed stack of the library service: status, manage, logs, psql, maintenance.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    # A traceback's local variables may hold the stack's secrets (its environment, TLS keys).
    pretty_exceptions_show_locals=False,
)
#: Not on a terminal (scripts, CI logs): no wrapping of long lines, tables as wide as they need.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 240)

StackOption = Annotated[str, typer.Option("--stack", "-s", help="The stack.", envvar="PULUMI_STACK")]
OutputsOption = Annotated[
    Path | None,
    typer.Option(
        "--outputs",
        help="The stack's outputs saved as JSON (`pulumi stack output --json --show-secrets`); default: ask Pulumi.",
        dir_okay=False,
    ),
]


class Role(StrEnum):
    api = "api"
    proxy = "proxy"
    db = "db"
    migrate = "migrate"
    all = "all"


class Switch(StrEnum):
    on = "on"
    off = "off"
    status = "status"


@contextlib.contextmanager
def operating(stack_name: str, outputs: Path | None) -> Iterator[tuple[Stack, Any]]:
    """The stack and a client of its engine; every known failure becomes a message and an exit code."""
    with reported():
        stack = load_stack(stack_name, outputs)
        with connect(stack) as client:
            yield stack, client


@contextlib.contextmanager
def reported() -> Iterator[None]:
    """Every known failure inside becomes one error line and an exit code (docs/operations.md)."""
    try:
        yield
    except OperatorError as error:
        err.print(f"[bold red]library: error:[/] {escape(str(error))}")
        raise typer.Exit(error.exit_code) from None
    except (docker.errors.APIError, proxy_maintenance.MaintenanceError) as error:
        err.print(f"[bold red]library: error:[/] the Docker engine refused: {escape(str(error))}")
        raise typer.Exit(OperatorError.exit_code) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, s = divmod(int(seconds), 60)
    hours, m = divmod(minutes, 60)
    days, h = divmod(hours, 24)
    return f"{days}d{h}h" if days else f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def render_status(report: status.Report) -> None:
    out.print(f"[bold]stack[/] {report.stack}   [bold]url[/] {report.url}   [bold]engine[/] {report.engine}")
    out.print(f"[bold]image[/] {report.image}")
    table = Table(show_edge=False, pad_edge=False)
    for column in ("role", "container", "state", "health", "up", "restarts"):
        table.add_column(column)
    colours = {"healthy": "green", "unhealthy": "red", "starting": "yellow"}
    for c in report.containers:
        health = c.health if c.role != "migrate" else (f"exit {c.exit_code}" if c.exit_code is not None else "-")
        colour = colours.get(c.health, "green" if health == "exit 0" else "red" if health.startswith("exit") else "")
        state = c.state if c.declared else f"{c.state} (not in outputs)"
        table.add_row(
            c.role,
            c.name,
            state,
            f"[{colour}]{health}[/]" if colour else health,
            _duration(c.uptime_s),
            str(c.restarts),
        )
    out.print(table)
    out.print(f"[bold]migration[/] {report.migration}")
    if report.database:
        d = report.database
        out.print(
            f"[bold]database[/] {_size(d['size_bytes'])}, {d['connections']} of {d['max_connections']} connections"
        )
    out.print(f"[bold]serving[/] {report.serving}")
    out.print(f"[bold]maintenance[/] {'on: ' + report.maintenance if report.maintenance is not None else 'off'}")
    for warning in report.warnings:
        out.print(f"[yellow]warning:[/] {escape(warning)}")
    for problem in report.problems:
        out.print(f"[red]problem:[/] {escape(problem)}")
    verdict = (
        "[bold green]HEALTHY[/]" if report.healthy else f"[bold red]UNHEALTHY[/] ({len(report.problems)} problems)"
    )
    out.print(f"[bold]verdict[/] {verdict}")


@app.command("status")
def status_command(
    stack: StackOption = "dev",
    outputs: OutputsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """The stack's URL, image, containers, migration, database and one verdict; exit 1 when unhealthy."""
    with operating(stack, outputs) as (the_stack, client):
        with err.status("asking the engine...") if err.is_terminal else contextlib.nullcontext():
            report = status.collect(client, the_stack)
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        render_status(report)
    if not report.healthy:
        raise typer.Exit(EXIT_UNHEALTHY)


@app.command(
    "manage",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def manage_command(
    args: Annotated[
        list[str] | None, typer.Argument(help="The management command and its arguments, after --.")
    ] = None,
    stack: StackOption = "dev",
    outputs: OutputsOption = None,
    no_tty: Annotated[bool, typer.Option("--no-tty", "-T", help="Never interactive, even on a terminal.")] = False,
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env", "-e", help="KEY=VALUE added to the stack's environment; KEY alone takes this shell's value."
        ),
    ] = None,
) -> None:
    """A Django management command in a one-off container of the deployed image, e.g.
    `library manage -- createsuperuser`; exits with the command's exit code."""
    if not args:
        err.print("[bold red]library: error:[/] which management command? e.g. `library manage -- showmigrations`")
        raise typer.Exit(2)
    tty = terminal.interactive() and not no_tty
    extra = []
    for item in env or []:
        key, sep, value = item.partition("=")
        if not key or (not sep and key not in os.environ):
            raise typer.BadParameter(f"{item!r}: give KEY=VALUE, or KEY set in this shell", param_hint="--env")
        extra.append(item if sep else f"{key}={os.environ[key]}")
    with operating(stack, outputs) as (the_stack, client):
        code = commands.manage(client, the_stack, list(args), tty, extra)
    if code != 0:
        err.print(f"[red]library: `manage.py {escape(' '.join(args))}` exited with code {code}[/]")
    raise typer.Exit(code)


@app.command("logs")
def logs_command(
    role: Annotated[Role, typer.Argument(help="Whose logs.")] = Role.api,
    stack: StackOption = "dev",
    outputs: OutputsOption = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
    since: Annotated[str | None, typer.Option(help="Only lines newer than this: 10m, 2h, 1d or an ISO time.")] = None,
    tail: Annotated[int | None, typer.Option(help="At most this many lines per container (default: all).")] = None,
    raw: Annotated[bool, typer.Option("--json", help="The lines as the containers wrote them.")] = False,
) -> None:
    """The logs of the API replicas (or the proxy's, database's, migration's), merged in time order."""
    try:
        logs._since(since)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--since") from None
    with operating(stack, outputs) as (the_stack, client):
        names = the_stack.container_names(role.value)
        for name in names:
            container(client, name, role.value)
        width = max(len(n) for n in names)

        def write(batch: list[logs.Line]) -> None:
            for line in batch:
                print(line.text if raw else logs.readable(line, width), flush=False)
            sys.stdout.flush()

        if follow:
            for batch in logs.follow(client, names, since, tail):
                write(batch)
        else:
            write(logs.history(client, names, since, tail))


@app.command("psql")
def psql_command(
    stack: StackOption = "dev",
    outputs: OutputsOption = None,
    command: Annotated[str | None, typer.Option("--command", "-c", help="Run this SQL and exit.")] = None,
) -> None:
    """psql in the database container, as the application's user (a session, or `-c SQL`)."""
    args = ["-c", command] if command is not None else []
    tty = command is None and terminal.interactive()
    if command is None and not tty:
        err.print("[bold red]library: error:[/] no terminal: give the SQL with -c")
        raise typer.Exit(2)
    with operating(stack, outputs) as (the_stack, client):
        code = commands.psql(client, the_stack, args, tty)
    raise typer.Exit(code)


@app.command("maintenance")
def maintenance_command(
    switch: Annotated[Switch, typer.Argument(help="on, off, or status.")],
    stack: StackOption = "dev",
    outputs: OutputsOption = None,
) -> None:
    """While on, the proxy answers every request but /healthz with a 503 (JSON, or a page for
    browsers) and Retry-After; nothing restarts. It lasts until `off` or until the proxy is replaced."""
    with operating(stack, outputs) as (the_stack, client):
        proxy = container(client, the_stack.proxy, "proxy")
        if switch is Switch.on:
            note = json.dumps(
                {
                    "since": datetime.now(UTC).isoformat(timespec="seconds"),
                    "by": f"{getpass.getuser()}@{socket.gethostname()}",
                }
            )
            commands.switch_maintenance(proxy, True, note)
            out.print(f"maintenance mode [bold]on[/] for stack {the_stack.name}: {the_stack.url} answers 503")
        elif switch is Switch.off:
            commands.switch_maintenance(proxy, False, "")
            out.print(f"maintenance mode [bold]off[/] for stack {the_stack.name}: {the_stack.url} serves again")
        else:
            state = proxy_maintenance.state(proxy)
            out.print(f"maintenance mode {'[bold]on[/]: ' + escape(state) if state is not None else 'off'}")


@app.command("ship")
def ship_command(
    images: Annotated[
        list[str] | None,
        typer.Argument(help="Images to copy (default: the stack's pythonImage, postgresImage and nginxImage)."),
    ] = None,
    stack: StackOption = "dev",
    source: Annotated[
        str, typer.Option(help="The engine the images are on (unix://, tcp://, ssh://).")
    ] = "unix:///var/run/docker.sock",
    force: Annotated[bool, typer.Option(help="Copy even when the host has the image.")] = False,
) -> None:
    """Copy images to the stack's Docker host without a registry (docker save | docker load over the
    provider's connection), only those whose id the host lacks; run it before `pulumi up`."""
    with reported():
        target_engine, defaults = ship.stack_target(stack, os.environ, ship.project_dir(Path.cwd()))
        refs = list(images or defaults)
        with (
            connect_engine(Engine(host=source), f"the source engine {source}", ship.TRANSFER_TIMEOUT_SECONDS) as src,
            connect_engine(target_engine, f"stack {stack!r}", ship.TRANSFER_TIMEOUT_SECONDS) as dst,
        ):
            for ref in refs:
                done = _ship_one(src, dst, ref, force)
                note = {
                    "present": "already on the host",
                    "tagged": "the host had the image: tagged",
                    "shipped": f"shipped {_size(done.bytes)} in {done.seconds:.1f} s",
                }[done.outcome]
                out.print(f"{escape(ref)}  {done.image_id[:19]}  {note}")


def _ship_one(src: Any, dst: Any, ref: str, force: bool) -> ship.Shipped:
    """One image, with a progress bar on a terminal."""
    if not err.is_terminal:
        return ship.ship(src, dst, ref, force=force)
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    size = int(src.api.inspect_image(ref).get("Size") or 0) if ref else 0
    with Progress(*Progress.get_default_columns()[:2], DownloadColumn(), TransferSpeedColumn(), console=err) as bar:
        task = bar.add_task(ref, total=size or None)
        return ship.ship(src, dst, ref, lambda n: bar.advance(task, n), force=force)


def main() -> None:
    app()
