#!/usr/bin/env python3
"""Draw the results of run-scenarios.sh as an SVG bar chart, Warren vs RabbitMQ.

usage: chart.py RESULTS_FILE -o OUT.svg [--title TEXT]

RESULTS_FILE is what `run-scenarios.sh --out FILE` appends: one line per run,
"BROKER ID {json}" with BROKER warren or rabbit and the warren-perf RESULT
JSON. Blank lines and lines starting with '#' are skipped; when a scenario
appears more than once for a broker (the file is appended to), the last line
wins.

Which metrics each scenario shows, their labels and which of them are
better lower are read from run-scenarios.sh itself (its SCENARIOS table and
lower_is_better), so the chart and the script's table always agree. Each
bar is the ratio the table prints as "W ahead", on a log scale: Warren /
RabbitMQ for rates, RabbitMQ / Warren for memory and latency, so a bar to
the right of 1x always means Warren did better.

Standard library only; the same input gives the same bytes.
"""
import argparse
import json
import math
import os
import re
import sys
from xml.sax.saxutils import escape

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run-scenarios.sh")
BROKERS = ("warren", "rabbit")

# How some metrics read better in a chart than in the script's terse table
# labels: a longer name, a unit on the value, and what "ahead" means.
KB = "kB"
US = "us"
DISPLAY = {
    "opened": ("connections opened", None, ""),
    "broker_kb_per_connection": ("memory per connection", KB, " less memory"),
    "broker_rss_kb_full": ("RSS with the backlog", KB, " less memory"),
    "p99": ("p99 latency", US, " lower latency"),
}

AHEAD = "#2b6cb0"
BEHIND = "#dd6b20"
INK = "#1a202c"
GREY = "#5a6472"
GRID = "#d5dae1"
BAND = "#f2f4f7"


class ChartError(Exception):
    pass


# --- what run-scenarios.sh measures ------------------------------------------


def read_scenarios(path=SCRIPT):
    """[(id, description, [(metric, label)])] and the lower-is-better set."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ChartError("cannot read %s: %s" % (path, e)) from e
    block = re.search(r"^SCENARIOS=\(\n(.*?)^\)", text, re.M | re.S)
    lower = re.search(r"^lower_is_better\(\) \{\n\s*case \$1 in ([^)]*)\)", text, re.M)
    if block is None or lower is None:
        raise ChartError("%s: no SCENARIOS table or lower_is_better to read" % path)
    scenarios = []
    for line in block.group(1).splitlines():
        m = re.fullmatch(r'\s*"([^|"]+)\|([^|"]*)\|[^|"]*\|([^|"]+)"\s*', line)
        if m is None:
            if line.strip() and not line.strip().startswith("#"):
                raise ChartError("%s: cannot read scenario line: %s" % (path, line.strip()))
            continue
        rows = []
        for row in m.group(3).split(","):
            metric, _, label = row.partition(":")
            rows.append((metric, label or metric))
        scenarios.append((m.group(1), m.group(2), rows))
    if not scenarios:
        raise ChartError("%s: the SCENARIOS table is empty" % path)
    return scenarios, {w.strip() for w in lower.group(1).split("|")}


# --- results ------------------------------------------------------------------


def read_results(path):
    """{(broker, id): result dict}, the last line of each pair winning."""
    results = {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise ChartError("cannot read %s: %s" % (path, e)) from e
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(" ", 2)
        if len(parts) != 3 or parts[0] not in BROKERS:
            raise ChartError("%s:%d: not a 'BROKER ID {json}' line" % (path, n))
        try:
            # strict=False: the script's own error lines may hold a tab.
            result = json.loads(parts[2], strict=False)
        except ValueError as e:
            raise ChartError("%s:%d: bad JSON: %s" % (path, n, e)) from e
        if not isinstance(result, dict):
            raise ChartError("%s:%d: the JSON is not an object" % (path, n))
        results[(parts[0], parts[1])] = result
    return results


def metric_value(result, metric):
    """The figure the script's table shows, or None: p99 is the end-to-end
    latency percentile, anything else a top-level number."""
    if result is None or result.get("ok") is not True:
        return None
    v = result.get("latency_us", {}).get("p99") if metric == "p99" else result.get(metric)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def ratio_of(w, r, lower_better):
    """Above 1 when Warren did better; None when there is nothing to divide."""
    if w is None or r is None:
        return None
    a, b = (r, w) if lower_better else (w, r)
    return a / b if b > 0 else None


# --- formatting ---------------------------------------------------------------


def fmt(v):
    """As run-scenarios.sh prints figures: thousands separators, one decimal
    below 100 when there is a fraction."""
    if v < 100 and v != int(v):
        return "%.1f" % v
    return "{:,.0f}".format(v)


def fmt_value(v, unit):
    if unit == KB:
        return fmt(round(v / 1024)) + " MB" if v >= 10240 else fmt(v) + " kB"
    if unit == US:
        if v >= 1000:
            ms = v / 1000
            return ("%.1f" % ms if ms < 100 else fmt(ms)) + " ms"
        return fmt(v) + " \u00b5s"
    return fmt(v)


def fmt_ratio(x):
    return "%.1fx" % x


def text_width(s, size, bold=False):
    """A generous guess at the rendered width of s (DejaVu Sans, the widest
    common sans-serif), to lay out columns without font metrics."""
    narrow = "ijlt.,:;'|!()[]/ f-"
    wide = "mwMW\u2192\u00d7%"
    w = 0.0
    for ch in s:
        if ch == " ":
            w += 0.32
        elif ch in narrow:
            w += 0.36
        elif ch in wide:
            w += 0.95
        elif ch.isdigit():
            w += 0.64
        elif ch.isupper():
            w += 0.74
        else:
            w += 0.62
    return w * size * (1.1 if bold else 1.0)


def num(x):
    s = "%.1f" % x
    return s[:-2] if s.endswith(".0") else s


def text(x, y, body, size=12, anchor="start", fill=INK, weight=None, extra=""):
    attrs = 'x="%s" y="%s"' % (num(x), num(y))
    if size != 12:
        attrs += ' font-size="%s"' % num(size)
    if anchor != "start":
        attrs += ' text-anchor="%s"' % anchor
    if fill != INK:
        attrs += ' fill="%s"' % fill
    if weight:
        attrs += ' font-weight="%s"' % weight
    return "<text %s%s>%s</text>" % (attrs, extra, body)


# --- the chart ------------------------------------------------------------------


def describe(what, scenario_id, results):
    """The script's description with its shell variables filled from the
    results where they say the value, dropped where they do not."""
    w = results.get(("warren", scenario_id)) or results.get(("rabbit", scenario_id)) or {}
    values = {}
    if isinstance(w.get("requested"), int):
        values["CONNS"] = fmt(w["requested"])
    if w.get("mode") == "backlog" and isinstance(w.get("published"), int):
        values["BACKLOG"] = fmt(w["published"])

    def sub(m):
        v = values.get(m.group(1))
        return v + m.group(2) if v else ""

    what = re.sub(r"\$\{?([A-Z_]+)\}?(\s?)", sub, what)
    return what.replace("->", "\u2192").strip()


def build_rows(scenarios, lower, results):
    """[(id, description, [row])] for every scenario with a figure."""
    groups = []
    for sid, what, metrics in scenarios:
        rows = []
        for metric, label in metrics:
            cells = {}
            for b in BROKERS:
                res = results.get((b, sid))
                v = metric_value(res, metric)
                if v is not None:
                    cells[b] = v
                elif res is not None and res.get("ok") is not True:
                    cells[b] = "error"
            if not cells:
                continue
            name, unit, suffix = DISPLAY.get(metric, (label, None, ""))
            lb = metric in lower
            if lb and not suffix:
                suffix = " lower"
            w = cells.get("warren")
            r = cells.get("rabbit")
            ratio = ratio_of(w if isinstance(w, float) else None,
                             r if isinstance(r, float) else None, lb)
            rows.append({
                "metric": metric,
                "name": name,
                "unit": unit,
                "suffix": suffix,
                "warren": w,
                "rabbit": r,
                "ratio": ratio,
            })
        if rows:
            groups.append((sid, describe(what, sid, results), rows))
    return groups


def cell_text(v, unit):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return fmt_value(v, unit)


def ticks_for(lo, hi):
    """1-2-5 steps covering [lo, hi]."""
    seq = []
    k = math.floor(math.log10(lo)) - 1
    while True:
        for m in (1, 2, 5):
            t = m * 10.0 ** k
            seq.append(t)
        if seq[-1] >= hi:
            break
        k += 1
    first = max(t for t in seq if t <= lo * (1 + 1e-9))
    last = min(t for t in seq if t >= hi * (1 - 1e-9))
    return [t for t in seq if first * (1 - 1e-9) <= t <= last * (1 + 1e-9)]


def tick_label(t):
    s = ("%.6f" % t).rstrip("0").rstrip(".")
    return s + "x"


def spaced_ticks(ticks, xof):
    """The densest of 1-2-5 steps, every decade, every 2nd, 3rd... decade
    whose labels do not touch; 1x is always among them."""
    decades = [t for t in ticks if abs(math.log10(t) - round(math.log10(t))) < 1e-9]
    choices = [ticks] + [[t for t in decades if round(math.log10(t)) % k == 0]
                         for k in range(1, len(decades) + 1)]
    for shown in choices:
        ok = True
        for a, b in zip(shown, shown[1:]):
            room = (text_width(tick_label(a), 11) + text_width(tick_label(b), 11)) / 2 + 8
            if xof(b) - xof(a) < room:
                ok = False
                break
        if ok and len(shown) >= 2:
            return shown
    return [1.0]


def render(groups, title):
    width = 960
    margin = 20
    # Column positions: the metric name, Warren's figure and RabbitMQ's
    # (both right-aligned), then the plot.
    name_x = margin + 16
    name_w = max([text_width("scenario", 12)] +
                 [text_width(r["name"], 12) for _, _, rows in groups for r in rows])
    val_w = max([text_width("RabbitMQ", 12, True)] +
                [text_width(cell_text(r[b], r["unit"]), 12, b == "warren")
                 for _, _, rows in groups for r in rows for b in BROKERS])
    warren_x = name_x + name_w + 16 + val_w
    rabbit_x = warren_x + 16 + val_w
    head_w = max([0.0] + [text_width(sid + "  ", 13, True) + text_width(what, 12)
                          for sid, what, _ in groups])
    plot_x = max(rabbit_x + 28, margin + head_w + 16)

    ratios = [r["ratio"] for _, _, rows in groups for r in rows if r["ratio"]]
    lo = min([1.0] + ratios)
    hi = max([10.0] + ratios)
    ticks = ticks_for(lo, hi)
    lo, hi = ticks[0], ticks[-1]
    span = math.log10(hi / lo)

    def frac(x):
        return math.log10(x / lo) / span

    # The plot is as wide as it can be while every label after its bar
    # still ends inside the picture.
    right = width - margin
    plot_w = right - plot_x
    one = frac(1.0)
    for _, _, rows in groups:
        for r in rows:
            label_w = text_width(ratio_label_plain(r), 12, True) + 6
            f = max(frac(r["ratio"]), one) if r["ratio"] else one
            if f > 0:
                plot_w = min(plot_w, (right - plot_x - label_w) / f)
    base_x = plot_x + one * plot_w

    def xof(x):
        return plot_x + frac(x) * plot_w

    out = []
    y = 30
    out.append(text(margin, y, escape(title), size=18, weight="bold"))
    sub = [
        "Each bar: Warren ahead of RabbitMQ by that factor, same machine, same run (log scale).",
        "Rates: Warren \u00f7 RabbitMQ. Memory and latency, where lower is better: RabbitMQ \u00f7 Warren.",
    ]
    for line in sub:
        y += 18
        out.append(text(margin, y, escape(line), fill=GREY))
    y += 30
    header_y = y
    out.append(text(margin, y, "scenario", fill=GREY))
    out.append(text(warren_x, y, "Warren", anchor="end", fill=AHEAD, weight="bold"))
    out.append(text(rabbit_x, y, "RabbitMQ", anchor="end", fill=GREY, weight="bold"))
    y += 8
    top = y

    body = []
    for i, (sid, what, rows) in enumerate(groups):
        h = 22 + 22 * len(rows) + 4
        if i % 2 == 0:
            body.append('<rect x="%d" y="%s" width="%d" height="%d" fill="%s"/>'
                        % (margin - 8, num(y), width - 2 * margin + 16, h, BAND))
        body.append(text(margin, y + 16,
                         '<tspan font-weight="bold" font-size="13">%s</tspan>  %s'
                         % (escape(sid), escape(what)), extra=' xml:space="preserve"'))
        for j, r in enumerate(rows):
            base = y + 22 + 22 * j + 15
            gid = "row-%s-%s" % (re.sub(r"[^A-Za-z0-9_.-]", "_", sid), r["metric"])
            g = ['<g id="%s">' % gid]
            g.append(text(name_x, base, escape(r["name"]), fill=GREY))
            g.append(text(warren_x, base, escape(cell_text(r["warren"], r["unit"])),
                          anchor="end", fill=AHEAD, weight="bold"))
            g.append(text(rabbit_x, base, escape(cell_text(r["rabbit"], r["unit"])),
                          anchor="end", fill=GREY))
            g.extend(bar(r, base, base_x, xof))
            g.append("</g>")
            body.append("".join(g))
        y += h + 4
    bottom = y - 4

    grid = []
    for t in spaced_ticks(ticks, xof):
        x = xof(t)
        stroke = "#8a94a3" if abs(t - 1.0) < 1e-9 else GRID
        grid.append('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>'
                    % (num(x), num(top), num(x), num(bottom), stroke))
        for ty in (header_y, bottom + 16):
            grid.append(text(x, ty, tick_label(t), size=11, anchor="middle", fill=GREY))

    height = bottom + 46
    foot = text(margin, bottom + 38,
                "Figures from interop-tests/perf/run-scenarios.sh --out, drawn by chart.py "
                "in the same folder.", size=10, fill=GREY)
    head = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
            'viewBox="0 0 %d %d" font-family="sans-serif" font-size="12" fill="%s">'
            % (width, height, width, height, INK))
    parts = [head, "<title>%s</title>" % escape(title),
             '<rect width="%d" height="%d" fill="#ffffff"/>' % (width, height)]
    # Bands first, then the grid over them, then bars and text on top.
    bands = [b for b in body if b.startswith("<rect")]
    rest = [b for b in body if not b.startswith("<rect")]
    parts += bands + grid + out + rest + [foot, "</svg>"]
    return "\n".join(parts) + "\n"


def ratio_label_plain(r):
    if r["ratio"] is None:
        return "no RabbitMQ figure" if r["rabbit"] is None else "no ratio"
    if r["ratio"] < 1:
        return fmt_ratio(r["ratio"]) + behind_note(r["ratio"])
    return fmt_ratio(r["ratio"]) + r["suffix"]


def behind_note(ratio):
    """Warren behind: the table's figure, then the same read the other way."""
    if ratio <= 0:
        return ": RabbitMQ ahead"
    return ": RabbitMQ ahead by " + fmt_ratio(1 / ratio)


def bar(r, base, base_x, xof):
    """The bar from 1x to the ratio and its label, or a note saying why
    there is none."""
    out = []
    ratio = r["ratio"]
    if ratio is None:
        if r["rabbit"] is None:
            note = "no RabbitMQ figure"
        elif r["warren"] is None:
            note = "no Warren figure"
        else:
            note = "no ratio"
        out.append(text(base_x + 6, base, note, fill=GREY, extra=' font-style="italic"'))
        return out
    end = xof(ratio) if ratio > 0 else base_x
    x0, x1 = min(base_x, end), max(base_x, end)
    color = AHEAD if ratio >= 1 else BEHIND
    out.append('<rect class="bar" x="%s" y="%s" width="%s" height="14" fill="%s"/>'
               % (num(x0), num(base - 11), num(x1 - x0), color))
    if ratio >= 1:
        label = ('<tspan font-weight="bold">%s</tspan>%s'
                 % (fmt_ratio(ratio), escape(r["suffix"])))
        out.append(text(x1 + 6, base, label, extra=' class="ratio"'))
    else:
        label = ('<tspan font-weight="bold">%s</tspan>%s'
                 % (fmt_ratio(ratio), escape(behind_note(ratio))))
        out.append(text(base_x + 6, base, label, fill=BEHIND, extra=' class="ratio"'))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Draw run-scenarios.sh results (--out FILE) as an SVG chart.")
    p.add_argument("results", help="the file run-scenarios.sh --out wrote")
    p.add_argument("-o", "--output", required=True, help="the SVG to write")
    p.add_argument("--title", default="Warren vs RabbitMQ", help="the chart's title")
    p.add_argument("--scenarios", default=SCRIPT, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    try:
        scenarios, lower = read_scenarios(a.scenarios)
        results = read_results(a.results)
        known = {s[0] for s in scenarios}
        for b, sid in sorted(results):
            if sid not in known:
                print("chart.py: %s %s is not a scenario of run-scenarios.sh; left out"
                      % (b, sid), file=sys.stderr)
        groups = build_rows(scenarios, lower, results)
        if not groups:
            raise ChartError("%s: no figures for any scenario" % a.results)
        svg = render(groups, a.title)
    except ChartError as e:
        print("chart.py: %s" % e, file=sys.stderr)
        return 1
    with open(a.output, "w", encoding="utf-8", newline="\n") as f:
        f.write(svg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
