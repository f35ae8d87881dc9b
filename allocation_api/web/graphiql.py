"""GraphiQL for developers, served with its assets from this package.

The stock page loads React and GraphiQL from a CDN that prison networks (and
this project's CI) cannot reach, so the assets are vendored under
`allocation_api/static/graphiql/` (see its README for versions and licences).
Served only when the schema is built for `dev`.
"""

from __future__ import annotations

import html
from pathlib import Path

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "graphiql"

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Allocation API - GraphiQL</title>
  <style>body {{ margin: 0; height: 100vh; }} #graphiql {{ height: 100vh; }}</style>
  <link rel="stylesheet" href="{static}/graphiql.min.css">
</head>
<body>
  <div id="graphiql">Loading GraphiQL...</div>
  <script src="{static}/react.production.min.js"></script>
  <script src="{static}/react-dom.production.min.js"></script>
  <script src="{static}/graphiql.min.js"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({{ url: "{endpoint}" }});
    const defaultHeaders = {headers};
    const root = ReactDOM.createRoot(document.getElementById("graphiql"));
    root.render(React.createElement(GraphiQL, {{
      fetcher,
      defaultEditorToolsVisibility: true,
      headers: defaultHeaders,
      shouldPersistHeaders: true,
      defaultQuery: {query},
    }}));
  </script>
</body>
</html>
"""

DEFAULT_QUERY = """# The Allocation API. Set an Authorization header (below) to a token from
# `allocation-api token`; the dev stack pre-fills one for an SPO.
query FirstPage {
  prison(code: "LEI") {
    name
    summary { total allocated unallocated missingCaseInformation }
    prisoners(first: 50) {
      totalCount
      nodes {
        offenderNo firstName lastName
        caseInformation { tier }
        responsibility
        allocation { primaryPom { firstName lastName } version }
      }
    }
  }
}
"""


def graphiql_page(request: Request, token: str | None) -> Response:
    """The GraphiQL page; `token` pre-fills the Authorization header (dev stack only)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers_text = orjson.dumps(headers, option=orjson.OPT_INDENT_2).decode()
    page = _PAGE.format(
        static=html.escape(str(request.url_for("graphiql-static", path="")).rstrip("/")),
        endpoint=html.escape(str(request.url_for("graphql"))),
        headers=orjson.dumps(headers_text).decode(),
        query=orjson.dumps(DEFAULT_QUERY).decode(),
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
