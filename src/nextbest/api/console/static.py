"""``/console/static``: the page script and the chart library, served from here (no CDN, no
inline script)."""

from fastapi import APIRouter
from fastapi.responses import Response

router = APIRouter(prefix="/static")

_DASHBOARD_JS = """\
const chart = JSON.parse(document.getElementById("volume-data").textContent);
const v = chart.volume, band = chart.band;
Plotly.newPlot("volume", [
  {x: v.map(r => r.run), y: v.map(r => r.selected), type: "bar", name: "selected"},
  {x: v.map(r => r.run), y: v.map(() => band[1]), mode: "lines", name: "weekly maximum"},
  {x: v.map(r => r.run), y: v.map(() => band[0]), mode: "lines", name: "weekly minimum"}
], {margin: {t: 10}});
"""


def _script(text: str) -> Response:
    return Response(
        text, media_type="application/javascript", headers={"Cache-Control": "max-age=86400"}
    )


@router.get("/dashboard.js")
def dashboard_js() -> Response:
    return _script(_DASHBOARD_JS)


@router.get("/plotly.js")
def plotly_js() -> Response:
    from plotly.offline import get_plotlyjs  # a large import, for the first page view only

    return _script(get_plotlyjs())
