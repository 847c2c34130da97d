"""The plotly.js configuration of every chart chipswitch draws (reports and dashboard).

plotly.js 3 shows a "share to Plotly Cloud" button by default, which would send the chart's
data to an outside service; chipswitch's promise is that nothing leaves the machine. The
dashboard's `web/static/app.js` uses the same settings (`PLOT_CONFIG`).
"""

from __future__ import annotations

from typing import Any

PLOTLY_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "showSendToCloud": False,
    "modeBarButtonsToRemove": ["sendDataToCloud", "editInChartStudio", "lasso2d", "select2d"],
}
