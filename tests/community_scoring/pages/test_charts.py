"""The SVG chart module, without Django: valid SVG, accessible names, one point per value at the right place."""
import xml.etree.ElementTree as ET

import pytest

from community_scoring.pages.charts import (
    HEIGHT, PAD_BOTTOM, PAD_LEFT, PAD_RIGHT, PAD_TOP, WIDTH, Series, bar_chart, funnel_chart, line_chart, nice_ceiling,
    number,
)

NS = {"svg": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


@pytest.mark.parametrize("value, expected", [(0.3, 0.5), (7, 10), (10, 10), (11, 20), (23, 25), (26, 50),
                                             (1234, 2000), (0, 1), (-5, 1)])
def test_nice_ceiling(value, expected):
    assert nice_ceiling(value) == expected


def test_number_rounds_for_people():
    assert number(12345.678) == "12,345.7"
    assert number(1234567, 0) == "1,234,567"
    assert number(None) == "-"


def test_line_chart_puts_each_value_where_it_belongs():
    svg = parse(line_chart(title="Interest & influence", labels=["d1", "d2", "d3"],
                           series=[Series("Interest", [0, 5, 10]), Series("Influence", [None, 2.5, None])]))
    assert svg.get("role") == "img" and svg.get("aria-label") == "Interest & influence"
    assert svg.find("svg:title", NS).text == "Interest & influence"
    points = svg.findall(".//svg:circle", NS)
    assert len(points) == 4  # the gaps draw nothing
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    # top = nice_ceiling(10) = 10: value 5 at half height, x of the middle label at half the plot width
    first, middle, last = points[:3]
    assert float(first.get("cx")) == pytest.approx(PAD_LEFT) and float(first.get("cy")) == pytest.approx(PAD_TOP + plot_h)
    assert float(middle.get("cx")) == pytest.approx(PAD_LEFT + plot_w / 2, abs=0.05)
    assert float(middle.get("cy")) == pytest.approx(PAD_TOP + plot_h / 2, abs=0.05)
    assert float(last.get("cy")) == pytest.approx(PAD_TOP, abs=0.05)
    assert middle.find("svg:title", NS).text == "Interest, d2: 5.0"
    assert points[3].find("svg:title", NS).text == "Influence, d2: 2.5"
    assert len(svg.findall(".//svg:polyline", NS)) == 1  # influence has a single point: no line


def test_line_chart_below_zero_keeps_zero_on_the_grid():
    svg = parse(line_chart(title="t", labels=["a", "b"], series=[Series("s", [-3, 7])]))
    assert {t.text for t in svg.findall("svg:text", NS)} >= {"-3.0", "0.0", "7.0"}
    low, high = svg.findall(".//svg:circle", NS)
    assert float(low.get("cy")) == pytest.approx(HEIGHT - PAD_BOTTOM) and float(high.get("cy")) == pytest.approx(PAD_TOP)


def test_text_is_escaped():
    svg = line_chart(title='<script>"x"</script>', labels=["<b>"], series=[Series("a&b", [1])])
    assert "<script>" not in svg and "<b>" not in svg
    parse(svg)


def test_empty_charts_say_so():
    for svg in (line_chart(title="t", labels=[], series=[]), bar_chart(title="t", labels=["a"], values=[0]),
                funnel_chart(title="t", steps=[])):
        assert "No data yet" in svg
        parse(svg)


def test_bar_chart_heights_are_proportional():
    svg = parse(bar_chart(title="Actions per day", labels=["a", "b"], values=[1000, 2500], name="actions"))
    bars = svg.findall(".//svg:rect", NS)
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    assert [float(b.get("height")) for b in bars] == pytest.approx([plot_h * 1000 / 2500, plot_h], abs=0.05)
    assert bars[1].find("svg:title", NS).text == "b: 2,500 actions"


def test_funnel_widths_follow_the_counts():
    svg = parse(funnel_chart(title="Members per stage", steps=[("visitor", 400), ("engaged", 100), ("MQL", 0)]))
    bars = svg.findall(".//svg:rect", NS)
    widths = [float(b.get("width")) for b in bars]
    assert widths[1] == pytest.approx(widths[0] / 4, abs=0.05) and widths[2] == 2.0
    assert bars[0].find("svg:title", NS).text == "visitor: 400 members"


def test_bar_chart_skips_missing_bars_labels_every_band_and_honours_a_fixed_top():
    from community_scoring.pages.charts import Reference

    svg = parse(bar_chart(title="Rate per decile", labels=["1", "2", "3"], values=[None, 25.0, 0.0], unit="%",
                          name="converted", every_label=True, top=100.0))
    bars = svg.findall(".//svg:rect", NS)
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    assert [b.find("svg:title", NS).text for b in bars] == ["2: 25% converted", "3: 0% converted"]
    assert [float(b.get("height")) for b in bars] == pytest.approx([plot_h / 4, 0.0], abs=0.05)
    labels = [t.text for t in svg.findall(".//svg:text", NS) if t.get("class") == "axis"]
    assert {"1", "2", "3"} <= set(labels)
    # All zero with a fixed top: drawn (an honest 0%), not "No data yet".
    assert "No data yet" not in bar_chart(title="t", labels=["a"], values=[0.0], top=100.0)
    assert "No data yet" in bar_chart(title="t", labels=["a"], values=[None], top=100.0)

    capped = parse(bar_chart(title="MQLs", labels=["w1", "w2"], values=[3, 30], reference=Reference("Capacity", 25)))
    line = capped.find(".//svg:line[@class='reference']", NS)
    top = 50.0  # nice_ceiling(max(30, 25))
    assert float(line.get("y1")) == pytest.approx(PAD_TOP + plot_h * (1 - 25 / top), abs=0.05)
    assert line.find("svg:title", NS).text == "Capacity: 25"
    # A capacity above every bar raises the top to make room for the line.
    above = parse(bar_chart(title="MQLs", labels=["w1"], values=[3], reference=Reference("Capacity", 40)))
    assert float(above.find(".//svg:line[@class='reference']", NS).get("y1")) == pytest.approx(
        PAD_TOP + plot_h * (1 - 40 / 50), abs=0.05)
