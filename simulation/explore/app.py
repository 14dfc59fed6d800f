"""The explorer's page (Panel): levers as number inputs, the headline numbers, base against edited.

Panel (HoloViz, on Bokeh) was chosen because it serves the same page from a command
(:func:`serve`) and in a notebook cell (:func:`explore`), and its widgets are plain Python objects
built from :class:`~simulation.explore.levers.Lever` (unit, range, note). The widgets carry no
bounds of their own: a value out of range reaches the scenario's validation, and the page shows
the message a file with that value would get. All scenario text reaches the page escaped
(:func:`html.escape`) or as a widget's plain-text title.

The numbers table marks each cell with ``data-fund``, ``data-measure``, ``data-which`` (``base``,
``edited``, ``diff``) and ``data-value`` (the float's ``repr``), so a browser test reads the exact
number behind the rounded text.
"""

from __future__ import annotations

import asyncio
import html
import socket
import sys
from pathlib import Path
from typing import Any

import panel as pn

from ..errors import FundsimError
from .fans import NOT_YET, best_method, fan_data, fan_figure
from .levers import GROUPS, Lever
from .numbers import CATASTROPHIC_NOTE, MEASURES, ExactCache, FundNumbers
from .state import Explorer

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")

GROUP_TITLES = {
    "financing": "Financing per head",
    "thresholds": "Thresholds",
    "ratios": "Band ratios",
    "caps": "Caps",
    "preferential": "Preferential terms",
    "contract": "Contract",
    "growth": "Growth rates",
}


def _fmt(value: float, unit: str) -> str:
    if unit == "probability":
        return f"{value:.2%}"
    return f"{value:,.0f}"


def numbers_html(base: list[FundNumbers], edited: list[FundNumbers]) -> str:
    """The headline table, base | edited | difference per fund and measure (escaped HTML)."""
    rows = []
    for b, e in zip(base, edited, strict=True):
        rows.append(
            f'<tr class="fund"><th colspan="4">{html.escape(b.label)} '
            f"<small>({html.escape(b.fund)}, {b.year})</small></th></tr>"
        )
        for key, label, unit in MEASURES:
            if key not in b.values and key not in e.values:
                continue
            cells = []
            bv, ev = b.values.get(key), e.values.get(key)
            diff = None if bv is None or ev is None else ev - bv
            for which, v in (("base", bv), ("edited", ev), ("diff", diff)):
                text = "" if v is None else _fmt(v, unit)
                if which == "diff" and v is not None and v > 0:
                    text = "+" + text
                cells.append(
                    f'<td data-fund="{html.escape(b.fund)}" data-measure="{key}" '
                    f'data-which="{which}" data-value="{"" if v is None else repr(v)}">'
                    f"{html.escape(text)}</td>"
                )
            rows.append(f"<tr><td>{html.escape(label)}</td>{''.join(cells)}</tr>")
        for problem in {b.error, e.error} - {""}:
            rows.append(f'<tr><td colspan="4" class="problem">{html.escape(problem)}</td></tr>')
    head = "<tr><th>measure</th><th>base</th><th>edited</th><th>difference</th></tr>"
    return (
        '<table class="fundsim-numbers" style="border-collapse:collapse">'
        + head
        + "".join(rows)
        + f'</table><p class="note"><small>{html.escape(CATASTROPHIC_NOTE)}</small></p>'
    )


def _lever_widget(lever: Lever) -> pn.widgets.FloatInput:
    note = lever.note or "no source given in the file"
    return pn.widgets.FloatInput(
        name=f"{lever.label} [{lever.unit}; {lever.range_text()}]",
        value=lever.value,
        description=note,
        css_classes=["fundsim-lever"],
        width=520,
    )


def build_app(explorer: Explorer) -> pn.viewable.Viewable:
    """The page for one exploration (one per browser session or notebook cell)."""
    s = explorer.base
    title = pn.pane.HTML(
        f'<h2 class="fundsim-title-text">{html.escape(s.title or s.name)}</h2>'
        f"<p><small>{html.escape(explorer.shown)}: one-year numbers ({s.start_year}) by the exact "
        "method</small></p>",
        css_classes=["fundsim-title"],
    )
    table = pn.pane.HTML(
        numbers_html(explorer.base_numbers, explorer.numbers), css_classes=["fundsim-table"]
    )
    error = pn.pane.HTML("", css_classes=["fundsim-error"], styles={"color": "#b00020"})
    status = pn.pane.HTML('<span id="fundsim-status">ready</span>', css_classes=["fundsim-status"])
    saved = pn.pane.HTML("", css_classes=["fundsim-saved"])
    save = pn.widgets.Button(
        name="Save as variant", button_type="primary", css_classes=["fundsim-save"]
    )
    fans_note = pn.pane.HTML(
        f'<p class="fundsim-fans-note"><small>{html.escape(NOT_YET)}</small></p>'
    )
    fans_button = pn.widgets.Button(name="Compute fans", css_classes=["fundsim-compute-fans"])
    fans_plot = pn.Column(css_classes=["fundsim-fans"])

    def set_status(text: str) -> None:
        status.object = f'<span id="fundsim-status">{html.escape(text)}</span>'

    async def on_change(event: Any, path: str) -> None:
        if event.new is None:  # an emptied box: nothing to compute yet
            return
        set_status("computing")
        table.loading = True
        try:
            update = await asyncio.to_thread(explorer.set, path, float(event.new))
        finally:
            table.loading = False
        if update.error:
            error.object = f'<p class="fundsim-error-text">{html.escape(update.error)}</p>'
            set_status("refused")
            return
        error.object = ""
        table.object = numbers_html(explorer.base_numbers, explorer.numbers)
        set_status("ready")

    def on_save(_event: Any) -> None:
        try:
            path = explorer.save()
        except (FundsimError, OSError) as e:
            saved.object = f'<p class="fundsim-error-text">{html.escape(str(e))}</p>'
            return
        saved.object = f'<p class="fundsim-saved-path">saved {html.escape(str(path))}</p>'

    save.on_click(on_save)

    async def on_fans(_event: Any) -> None:
        set_status("computing fans")
        fans_button.disabled = True
        fans_plot.loading = True
        try:
            data = await asyncio.to_thread(fan_data, best_method(), explorer.base, explorer.edited)
        except FundsimError as e:
            fans_plot.objects = [pn.pane.HTML(f"<p>{html.escape(str(e))}</p>")]
        else:
            labels = {name: f.label for name, f in explorer.base.funds.items()}
            fans_plot.objects = [
                pn.pane.HTML(
                    f'<p class="fundsim-fans-method"><small>{html.escape(data.method)}: '
                    "median and 5-95% of paths, base (grey) and edited (blue)</small></p>"
                ),
                pn.pane.Matplotlib(fan_figure(data, labels), dpi=90, tight=False),
            ]
        finally:
            fans_plot.loading = False
            fans_button.disabled = False
            set_status("ready")

    fans_button.on_click(on_fans)

    groups = []
    for group in GROUPS:
        widgets = []
        for lever in explorer.levers.values():
            if lever.group != group:
                continue
            w = _lever_widget(lever)
            w.css_classes = ["fundsim-lever", "lever-" + _css_id(lever.path)]

            async def watcher(event: Any, path: str = lever.path) -> None:
                await on_change(event, path)

            w.param.watch(watcher, "value")
            widgets.append(w)
        if widgets:
            groups.append((GROUP_TITLES[group], pn.Column(*widgets)))
    levers = pn.Accordion(*groups, active=[0], width=560)
    return pn.Row(
        levers,
        pn.Column(
            title,
            status,
            error,
            table,
            pn.Row(save, saved),
            fans_note,
            fans_button,
            fans_plot,
            width=760,
        ),
    )


def _css_id(path: str) -> str:
    """A lever's key path as a CSS class name: ``layers.x.bands[0].ratio`` ->
    ``layers-x-bands-0-ratio``."""
    out = "".join(ch if ch.isalnum() or ch in "_-" else "-" for ch in path)
    return "-".join(p for p in out.split("-") if p)


def explore(
    scenario: str | Path, variant: str | Path | None = None, **exact_options: Any
) -> pn.viewable.Viewable:
    """The explorer as a notebook cell: ``simulation.explore("scenarios/x.toml")`` (the cell's
    value is the page; "save as variant" writes ``variant`` or ``<stem>_explored.toml``)."""
    pn.extension()
    return build_app(Explorer(scenario, variant, ExactCache(**exact_options)))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def serve(
    scenario: str | Path,
    *,
    port: int | None = None,
    host: str = "127.0.0.1",
    variant: str | Path | None = None,
    show: bool = False,
) -> None:
    """Serve the explorer at ``http://host:port/`` (a free port when ``port`` is None) until
    interrupted. Any host other than the loopback must be asked for and prints a warning. Each
    browser session gets its own :class:`Explorer`; they share the exact method's cache."""
    if host not in LOCAL_HOSTS:
        print(
            f"fundsim explore: warning: listening on {host}, not only on this machine: anyone who "
            "can reach it can read the scenario's numbers and save a variant file",
            file=sys.stderr,
        )
    first = Explorer(scenario, variant)  # the file is validated before the server starts
    sessions = {"first": first}

    def page() -> pn.viewable.Viewable:
        explorer = sessions.pop("first", None) or Explorer(scenario, variant, first.cache)
        return build_app(explorer)

    port = free_port(host) if port is None else int(port)
    origins = sorted({f"{h}:{port}" for h in ("127.0.0.1", "localhost", host)})
    print(f"fundsim explore: http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    pn.extension()
    pn.serve(
        {"/": page},
        port=port,
        address=host,
        show=show,
        title="fundsim explore",
        websocket_origin=origins,
        verbose=False,
        print_url=False,
    )
