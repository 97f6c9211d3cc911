//! The GraphiQL page (`GET /graphql` from a browser) and its scripts and styles
//! (`GET /graphql/assets/{file}`), embedded in the binary: the page needs no internet.
//!
//! The files are the published npm packages' builds (`graphiql@3.8.3`, `react@18.3.1`,
//! `react-dom@18.3.1`), committed with their licences under `crates/server/assets/graphiql/`
//! (its README says how to refresh them). The page opens with the README's nested query,
//! ready to run.

use axum::{
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use crate::state::AppState;

/// One embedded file: its name under `/graphql/assets/`, media type and bytes.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: [Asset; 4] = [
    Asset {
        name: "graphiql.min.js",
        media_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "graphiql.min.css",
        media_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "react.production.min.js",
        media_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        media_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    },
];

/// The query the page opens with (the README's): a new user presses run and sees data.
pub const DEFAULT_QUERY: &str = "\
# Welcome! Press the run button (or Ctrl-Enter) to run this query: 50 users, their
# newest posts, each post's newest comments with their authors, and the posts' tags.
# The server runs one SQL statement per level. The book icon on the left opens the
# schema's documentation.
{
  users(first: 50) {
    name
    posts(first: 10) {
      title
      comments(first: 5) {
        author {
          name
        }
      }
      tags {
        name
      }
    }
  }
}
";

/// The page. Asset URLs are relative (`graphql/assets/...` from `/graphql`), so the page
/// also works behind a proxy that mounts the server under a path prefix; queries go to
/// the page's own URL.
pub fn page() -> Html<String> {
    let default_query = serde_json::to_string(DEFAULT_QUERY).unwrap_or_else(|_| "\"\"".into());
    Html(format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex">
  <title>Forum GraphQL · GraphiQL</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="graphql/assets/graphiql.min.css">
  <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="graphql/assets/react.production.min.js"></script>
  <script src="graphql/assets/react-dom.production.min.js"></script>
  <script src="graphql/assets/graphiql.min.js"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({{ url: window.location.href.split(/[?#]/)[0] }});
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {{
        fetcher,
        defaultQuery: {default_query},
        defaultEditorToolsVisibility: true,
      }})
    );
  </script>
</body>
</html>
"#
    ))
}

/// `GET /graphql/assets/{file}`: an embedded GraphiQL file, or `404` (also when GraphiQL
/// is turned off).
pub async fn asset(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let found = ASSETS.iter().find(|a| a.name == file);
    match found {
        Some(asset) if !state.settings.limits.disable_graphiql => {
            let mut response = asset.bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.media_type),
            );
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            );
            response
        }
        _ => (StatusCode::NOT_FOUND, "no such GraphiQL file").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_every_asset_from_the_server_and_nothing_from_elsewhere() {
        let Html(page) = page();
        for asset in &ASSETS {
            assert!(
                page.contains(&format!("\"graphql/assets/{}\"", asset.name)),
                "{}",
                asset.name
            );
        }
        assert!(
            !page.contains("http://") && !page.contains("https://") && !page.contains("//unpkg")
        );
    }

    #[test]
    fn the_default_query_is_embedded_as_a_js_string() {
        let Html(page) = page();
        assert!(page.contains(r##"defaultQuery: "# Welcome!"##));
        assert!(page.contains("users(first: 50)"));
    }

    #[test]
    fn the_embedded_files_are_the_builds() {
        for asset in &ASSETS {
            assert!(asset.bytes.len() > 5_000, "{} is a real build", asset.name);
        }
    }
}
