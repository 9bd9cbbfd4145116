"""chart.py against made-up run-scenarios.sh results: the SVG parses, has one
bar per compared figure with the ratio the script's table would print, and a
bar to the right of 1x means Warren did better for rates, memory and latency
alike. No broker, no network: run with `python3 -m pytest chart_test.py`.
"""
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CHART = os.path.join(HERE, "chart.py")
SVG = "{http://www.w3.org/2000/svg}"

sys.path.insert(0, HERE)
import chart  # noqa: E402

RESULTS = """\
# made up for chart_test.py
warren S1 {"ok":true,"error":null,"label":"S1","consumed_rate":1000,"published_rate":1001}
rabbit S1 {"ok":true,"error":null,"label":"S1","consumed_rate":100}

warren S4 {"ok":true,"consumed_rate":50000}
rabbit S4 {"ok":true,"consumed_rate":500}
warren S7 {"ok":true,"mode":"connections","requested":2000,"opened":2000,"broker_kb_per_connection":5}
rabbit S7 {"ok":true,"mode":"connections","requested":2000,"opened":832,"broker_kb_per_connection":50}
warren S5 {"ok":true,"latency_us":{"count":5000,"p50":300,"p95":400,"p99":500,"max":900}}
rabbit S5 {"ok":true,"latency_us":{"count":5000,"p50":60,"p95":80,"p99":100,"max":200}}
warren S2 {"ok":true,"consumed_rate":200000}
warren S3 {"ok":false,"error":"confirm timeout\tafter 60 s"}
rabbit S3 {"ok":true,"confirmed_rate":16000}
warren P1 {"ok":true,"consumed_rate":1}
warren P1 {"ok":true,"consumed_rate":300}
rabbit P1 {"ok":true,"consumed_rate":100}
"""


def draw(tmp_path, results=RESULTS, *extra):
    src = tmp_path / "results.txt"
    src.write_text(results, encoding="utf-8")
    out = tmp_path / "chart.svg"
    p = subprocess.run([sys.executable, CHART, str(src), "-o", str(out), *extra],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return out.read_bytes()


def rows(svg_bytes):
    root = ET.fromstring(svg_bytes)
    return {g.get("id"): g for g in root.iter(SVG + "g") if (g.get("id") or "").startswith("row-")}


def all_text(el):
    return "".join(el.itertext())


def bar_of(g):
    bars = [r for r in g.iter(SVG + "rect") if r.get("class") == "bar"]
    assert len(bars) <= 1
    return bars[0] if bars else None


def baseline_x(svg_bytes):
    """The x of the 1x grid line (the one drawn darker than the others)."""
    root = ET.fromstring(svg_bytes)
    xs = [float(line.get("x1")) for line in root.iter(SVG + "line")
          if line.get("stroke") == "#8a94a3"]
    assert len(xs) == 1
    return xs[0]


def test_parses_with_one_group_per_figure_and_a_bar_per_ratio(tmp_path):
    svg = draw(tmp_path)
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    assert root.get("font-family") == "sans-serif"
    assert not list(root.iter(SVG + "script"))
    g = rows(svg)
    # S7 shows both of its table rows; S6, S8 and D1 have no figures at all.
    assert set(g) == {
        "row-S7-opened", "row-S7-broker_kb_per_connection", "row-S1-consumed_rate",
        "row-S2-consumed_rate", "row-S3-confirmed_rate", "row-S4-consumed_rate",
        "row-S5-p99", "row-P1-consumed_rate",
    }
    with_bar = {k for k, v in g.items() if bar_of(v) is not None}
    assert with_bar == set(g) - {"row-S2-consumed_rate", "row-S3-confirmed_rate"}


def test_ratio_text_and_figures(tmp_path):
    g = rows(draw(tmp_path))
    s1 = all_text(g["row-S1-consumed_rate"])
    assert "1,000" in s1 and "100" in s1 and "10.0x" in s1
    assert "100.0x" in all_text(g["row-S4-consumed_rate"])
    assert "2.4x" in all_text(g["row-S7-opened"])  # 2000 / 832 = 2.40
    # The last line of a pair wins: 300 / 100, not 1 / 100.
    assert "3.0x" in all_text(g["row-P1-consumed_rate"])


def test_lower_is_better_means_ahead_to_the_right(tmp_path):
    svg = draw(tmp_path)
    g = rows(svg)
    base = baseline_x(svg)
    # Memory: 5 kB against 50 kB is Warren ahead by 10.0x, a bar to the right.
    mem = g["row-S7-broker_kb_per_connection"]
    assert "10.0x less memory" in all_text(mem)
    assert "5 kB" in all_text(mem) and "50 kB" in all_text(mem)
    bar = bar_of(mem)
    assert float(bar.get("x")) == pytest.approx(base, abs=0.06)
    assert float(bar.get("width")) > 0
    # Latency: p99 500 us against 100 us is Warren behind: 0.2x, bar to the left.
    lat = g["row-S5-p99"]
    assert "0.2x: RabbitMQ ahead by 5.0x" in all_text(lat)
    assert "500 \u00b5s" in all_text(lat)
    bar = bar_of(lat)
    assert float(bar.get("x")) + float(bar.get("width")) == pytest.approx(base, abs=0.06)
    assert float(bar.get("x")) < base - 1
    assert bar.get("fill") != bar_of(mem).get("fill")


def test_bars_are_on_a_log_scale(tmp_path):
    g = rows(draw(tmp_path))
    w10 = float(bar_of(g["row-S1-consumed_rate"]).get("width"))
    w100 = float(bar_of(g["row-S4-consumed_rate"]).get("width"))
    w3 = float(bar_of(g["row-P1-consumed_rate"]).get("width"))
    assert w100 == pytest.approx(2 * w10, abs=0.2)
    assert w3 == pytest.approx(w10 * 0.47712, abs=0.2)  # log10(3)


def test_missing_and_failed_figures_have_no_ratio(tmp_path):
    g = rows(draw(tmp_path))
    s2 = all_text(g["row-S2-consumed_rate"])
    assert "200,000" in s2 and "no RabbitMQ figure" in s2
    s3 = all_text(g["row-S3-confirmed_rate"])
    assert "error" in s3 and "16,000" in s3 and "no ratio" in s3
    for row in ("row-S2-consumed_rate", "row-S3-confirmed_rate"):
        assert not [t for t in g[row].iter(SVG + "text") if t.get("class") == "ratio"]


def test_same_input_same_bytes_and_title(tmp_path):
    a = draw(tmp_path, RESULTS, "--title", "A <title> & more")
    b = draw(tmp_path, RESULTS, "--title", "A <title> & more")
    assert a == b
    root = ET.fromstring(a)
    assert root.find(SVG + "title").text == "A <title> & more"


def test_bad_line_is_an_error(tmp_path):
    src = tmp_path / "bad.txt"
    src.write_text("warren S1 {not json\n", encoding="utf-8")
    p = subprocess.run([sys.executable, CHART, str(src), "-o", str(tmp_path / "x.svg")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "bad JSON" in p.stderr
    assert not (tmp_path / "x.svg").exists()


def test_reads_the_metrics_of_run_scenarios():
    scenarios, lower = chart.read_scenarios()
    table = {sid: [m for m, _ in metrics] for sid, _, metrics in scenarios}
    assert table["S1"] == ["consumed_rate"]
    assert table["S3"] == ["confirmed_rate"]
    assert table["S6"] == ["published_rate", "consumed_rate", "broker_rss_kb_full"]
    assert table["S7"] == ["opened", "broker_kb_per_connection"]
    assert table["D1"] == ["dlq_rate"]
    assert lower == {"p99", "broker_kb_per_connection", "broker_rss_kb_full"}
