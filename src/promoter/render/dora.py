"""DORA's four measures (`insight.dora`) rendered: JSON (with the definitions), a text table, an
OpenMetrics text file a Prometheus textfile collector or a Pushgateway takes, and HTML (a section
of the history report, and the fleet's page).

The OpenMetrics text uses only what the Prometheus text format 0.0.4 reads the same way (gauges,
summaries with `quantile` labels, `# HELP`/`# TYPE`/`# UNIT`, `# EOF`), so either parser takes it:
node_exporter's textfile collector and the Pushgateway read 0.0.4, where `# UNIT` and `# EOF` are
comments. A measure with no value (no promotion in the period) has no sample, never NaN."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from promoter import durations
from promoter.insight.dora import DEFINITIONS, Measures
from promoter.render.document import document, dumps
from promoter.text import plural, printable

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any


def _secs(seconds: int | None) -> str:
    return "-" if seconds is None else durations.format(seconds, parts=2)


def _rate(m: Measures) -> str:
    rate = m.failure_rate
    return "-" if rate is None else f"{rate * 100:.0f}% ({len(m.failures)}/{m.promotions})"


def _freq(value: float | None) -> str:
    """Three significant figures at most: 406.8 -> 407, 12.34 -> 12.3, 0.456 -> 0.46."""
    if value is None:
        return "-"
    text = f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def measures_json(m: Measures) -> dict[str, Any]:
    return {
        "component": m.component,
        "environment": m.environment,
        "period": {"start": m.period.start.isoformat(), "end": m.period.end.isoformat(), "seconds": m.period.seconds},
        "deployments": m.deployments,
        "promotions": m.promotions,
        "rollbacks": m.rollbacks,
        "per_day": m.per_day,
        "per_week": m.per_week,
        "lead_time": {
            "commits": len(m.lead_times),
            "median_seconds": m.lead_median,
            "p90_seconds": m.lead_p90,
            "unknown": m.lead_unknown,
        },
        "change_failure": {
            "promotions": m.promotions,
            "failed": len(m.failures),
            "rate": m.failure_rate,
            "window_seconds": m.window,
            "failures": [
                {
                    "commit": f.change.commit.sha,
                    "backed_out_by": f.by.commit.sha,
                    "how": "revert" if f.revert else "rollback",
                    "seconds": f.seconds,
                }
                for f in m.failures
            ],
        },
        "time_to_restore": {"restores": len(m.failures), "median_seconds": m.restore_median},
    }


def history_dora(measures: list[Measures]) -> dict[str, Any]:
    """The `dora` field of `history -o json`: the definitions and each environment's measures."""
    return {"definitions": DEFINITIONS, "environments": [measures_json(m) for m in measures]}


def dora_doc(rows: list[Measures], errors: list[tuple[str, str]]) -> dict[str, Any]:
    """The fleet (`history` with no component, or `--all`): one row per component and environment."""
    return document(
        "dora",
        {
            "definitions": DEFINITIONS,
            "rows": [measures_json(m) for m in rows],
            "errors": [{"component": c, "message": msg} for c, msg in errors],
        },
    )


def dora_json(rows: list[Measures], errors: list[tuple[str, str]]) -> str:
    return dumps(dora_doc(rows, errors))


HEADER = ["COMPONENT", "ENVIRONMENT", "DEPLOYS", "PER WEEK", "LEAD P50", "LEAD P90", "FAILED", "RESTORE"]


def row_cells(m: Measures) -> list[str]:
    return [
        m.component,
        m.environment,
        str(m.deployments),
        _freq(m.per_week),
        _secs(m.lead_median),
        _secs(m.lead_p90),
        _rate(m),
        _secs(m.restore_median),
    ]


def dora_lines(rows: list[Measures], component: bool = True) -> list[str]:
    """The measures as aligned lines (without the component column when `component` is False), and
    what the short headings mean."""
    first = 0 if component else 1
    table = [HEADER[first:]] + [row_cells(m)[first:] for m in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table]
    if rows:
        lines.append(f"  FAILED: promotions backed out within {_secs(rows[0].window)} (change failure rate);")
        lines.append("  RESTORE: median time to restore; LEAD: every upstream commit shipped")
    return lines


def dora_text(rows: list[Measures], errors: list[tuple[str, str]]) -> str:
    out = [f"DORA, {plural(len({m.component for m in rows}), 'component')}:"] if rows else ["DORA: no change measured"]
    if rows:
        out += dora_lines(rows)
        starts = sorted({m.period.start for m in rows})
        ends = sorted({m.period.end for m in rows})
        out.append(f"period {_day(starts[0])} to {_day(ends[-1])}; failure window {_secs(rows[0].window)}")
    out += [f"error: {c}: {msg}" for c, msg in errors]
    return "\n".join(out) + "\n"


def _day(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# -- OpenMetrics ----------------------------------------------------------------------------------
_FAMILIES = (
    ("promoter_dora_deployments", "gauge", "", "deployments that reached the environment's branch in the period"),
    ("promoter_dora_promotions", "gauge", "", "deployments in the period that were no rollback"),
    ("promoter_dora_rollbacks", "gauge", "", "deployments in the period that were rollbacks"),
    ("promoter_dora_deployments_per_day", "gauge", "", "deployment frequency: deployments per day of the period"),
    ("promoter_dora_lead_time_seconds", "summary", "seconds",
     "lead time for changes: each upstream commit shipped, from its commit to its deployment reaching the branch"),
    ("promoter_dora_change_failure_ratio", "gauge", "ratio",
     "change failure rate: promotions backed out within the failure window, over the promotions"),
    ("promoter_dora_failed_promotions", "gauge", "", "promotions backed out (rollback or revert) within the window"),
    ("promoter_dora_time_to_restore_seconds", "summary", "seconds",
     "time to restore: from a failed promotion reaching the branch to its rollback or revert reaching it"),
    ("promoter_dora_period_start_seconds", "gauge", "seconds", "start of the period measured (Unix time)"),
    ("promoter_dora_period_end_seconds", "gauge", "seconds", "end of the period measured (Unix time)"),
)  # fmt: skip


def _label(value: str) -> str:
    return printable(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def dora_openmetrics(rows: list[Measures]) -> str:
    """Every measure of every row as an OpenMetrics text exposition (labels component, environment)."""
    lines: list[str] = []
    for name, kind, unit, help_ in _FAMILIES:
        lines.append(f"# TYPE {name} {kind}")
        if unit:
            lines.append(f"# UNIT {name} {unit}")
        lines.append(f"# HELP {name} {help_}")
        for m in rows:
            labels = f'component="{_label(m.component)}",environment="{_label(m.environment)}"'
            for suffix, value in _samples(name, m):
                if suffix.startswith("{"):
                    lines.append(f"{name}{{{labels},{suffix[1:]} {_num(value)}")
                else:
                    lines.append(f"{name}{suffix}{{{labels}}} {_num(value)}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _samples(name: str, m: Measures) -> list[tuple[str, float]]:
    """(suffix, value) of a family's samples for one row; a suffix `{quantile="0.5"}` is a label."""
    if name == "promoter_dora_deployments":
        return [("", m.deployments)]
    if name == "promoter_dora_promotions":
        return [("", m.promotions)]
    if name == "promoter_dora_rollbacks":
        return [("", m.rollbacks)]
    if name == "promoter_dora_deployments_per_day":
        return [] if m.per_day is None else [("", m.per_day)]
    if name == "promoter_dora_lead_time_seconds":
        if m.lead_unknown is not None:
            return []
        return _summary(m.lead_times, ((0.5, m.lead_median), (0.9, m.lead_p90)))
    if name == "promoter_dora_change_failure_ratio":
        return [] if m.failure_rate is None else [("", m.failure_rate)]
    if name == "promoter_dora_failed_promotions":
        return [("", len(m.failures))]
    if name == "promoter_dora_time_to_restore_seconds":
        return _summary([f.seconds for f in m.failures], ((0.5, m.restore_median),))
    if name == "promoter_dora_period_start_seconds":
        return [("", int(m.period.start.timestamp()))]
    return [("", int(m.period.end.timestamp()))]


def _summary(values: list[int], quantiles: tuple[tuple[float, int | None], ...]) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = [('{quantile="' + str(q) + '"}', v) for q, v in quantiles if v is not None]
    return [*out, ("_count", len(values)), ("_sum", sum(values))]


# -- HTML -----------------------------------------------------------------------------------------
def _why_none(m: Measures, what: str) -> str:
    """Why a measure has no value, in a few words."""
    if what == "lead":
        if m.lead_unknown:
            return m.lead_unknown
        return "no promotion in the period" if not m.promotions else "no upstream commit shipped"
    if what == "freq":
        return "the period is one instant"
    if what == "rate":
        return "no promotion in the period"
    return "no failed promotion"


def _cell(value: str | None, why: str, data: str) -> str:
    if value is None:
        return f'<td class="none" data-measure="{data}" title="{escape(why)}">{escape(why)}</td>'
    return f'<td data-measure="{data}">{escape(value)}</td>'


def dora_rows_html(rows: list[Measures], component: bool = False) -> str:
    """A table of the measures, one row each (with the component column when `component`)."""
    head = (["component"] if component else []) + [
        "environment", "deployments", "per week", "lead time p50", "lead time p90", "change failure rate",
        "time to restore p50",
    ]  # fmt: skip
    out = ['<div class="scroll"><table class="dora"><thead><tr>']
    out += [f"<th>{escape(h)}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for m in rows:
        rate = m.failure_rate
        cells = ([f"<td>{escape(m.component)}</td>"] if component else []) + [
            f"<th>{escape(m.environment)}</th>",
            f'<td data-measure="deployments">{m.deployments}'
            + (f' <span class="sub">({plural(m.rollbacks, "rollback")})</span>' if m.rollbacks else "")
            + "</td>",
            _cell(_freq(m.per_week) if m.per_week is not None else None, _why_none(m, "freq"), "per-week"),
            _cell(_secs(m.lead_median) if m.lead_median is not None else None, _why_none(m, "lead"), "lead-p50"),
            _cell(_secs(m.lead_p90) if m.lead_p90 is not None else None, _why_none(m, "lead"), "lead-p90"),
            _cell(_rate(m) if rate is not None else None, _why_none(m, "rate"), "failure-rate"),
            _cell(_secs(m.restore_median) if m.restore_median is not None else None, _why_none(m, "restore"),
                  "restore-p50"),
        ]  # fmt: skip
        out.append(
            f'<tr data-component="{escape(m.component)}" data-environment="{escape(m.environment)}">'
            + "".join(cells)
            + "</tr>"
        )
    out.append("</tbody></table></div>")
    return "".join(out)


def definitions_html() -> str:
    items = "".join(f"<li><b>{escape(k.replace('_', ' '))}</b>: {escape(v)}</li>" for k, v in DEFINITIONS.items())
    return f'<details class="definitions"><summary>How these are measured</summary><ul>{items}</ul></details>'


def fleet_html(rows: list[Measures], errors: list[tuple[str, str]], now: datetime) -> str:
    """The fleet's page: every component and environment's measures, filterable by component."""
    from promoter.render.page import PAGE_CSS, page, row_filter

    comps = list(dict.fromkeys(m.component for m in rows))
    starts = sorted(m.period.start for m in rows)
    ends = sorted(m.period.end for m in rows)
    span = f"{_day(starts[0])} to {_day(ends[-1])}" if rows else "no change"
    body = [
        "<h1>Delivery of the fleet</h1>",
        f'<p class="meta">DORA\'s four measures, {plural(len(comps), "component")}, '
        f"{plural(len(rows), 'row')} (one per component and environment); {escape(span)}; generated "
        f"{escape(_day(now))}</p>",
        '<div class="filters"><input type="search" id="filter" placeholder="filter: component, environment…" '
        'aria-label="filter by component"> <span><span id="shown">'
        + str(len(rows))
        + "</span> of "
        + str(len(rows))
        + " shown</span></div>",
        dora_rows_html(rows, component=True).replace("<tr data-component", '<tr class="row" data-component'),
        definitions_html(),
    ]
    if errors:
        body.append("<h2>Not measured in full</h2><ul>")
        body += [f"<li>{escape(c)}: {escape(msg)}</li>" for c, msg in errors]
        body.append("</ul>")
    css = PAGE_CSS + "body { max-width: 1240px; }\n"
    return page("promoter: delivery of the fleet", css, "\n".join(body),
                row_filter("filter", "tr.row", "shown", "data-component"))  # fmt: skip
