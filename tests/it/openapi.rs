//! The hand-written OpenAPI document (`src/http/openapi.rs`) against the router, both ways:
//! every route the http source declares is documented, every documented operation is
//! served, and the app answers each documented operation with something other than "no
//! such route".

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use regex::Regex;
use serde_json::Value;

use super::harness::*;

/// One operation: (upper-case method, path as OpenAPI writes it: `{name}`, not `{*name}`).
type Op = (String, String);

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn op(method: &str, path: &str) -> Op {
    (method.to_uppercase(), path.replace("{*", "{"))
}

fn listing(ops: &BTreeSet<Op>) -> String {
    ops.iter().map(|(m, p)| format!("  {m} {p}\n")).collect()
}

/// The methods a `.route(` call starting at `open` (its parenthesis) is built with: the
/// method-router calls at the call's own depth, `get(a)` and the chained `.post(b)` alike.
fn chained_methods(code: &str, open: usize) -> Vec<String> {
    let bytes = code.as_bytes();
    let (mut depth, mut i, mut found) = (0usize, open, Vec::new());
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' => {
                if depth == 1 {
                    let before = &code[..i];
                    let word_start = before
                        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .map_or(0, |j| j + 1);
                    let word = &before[word_start..];
                    if METHODS.contains(&word) {
                        found.push(word.to_string());
                    }
                }
                depth += 1;
            }
            b')' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Every operation the http module's source routes, its test modules left out: the route
/// tables' rows `("/path", "method", method(handler))` (whose method must be the one the
/// handler is built with) and any `.route("/path", get(..).post(..))` call.
fn routed_in_source() -> BTreeSet<Op> {
    let row = Regex::new(r#"\(\s*"(/[^"]*)"\s*,\s*"([a-z]+)"\s*,\s*([a-z_]+)\("#).unwrap();
    let call = Regex::new(r#"\.route(\()\s*"(/[^"]*)""#).unwrap();
    let dir = root().join("src/http");
    let mut routed = BTreeSet::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let name = file.file_name().unwrap().to_string_lossy();
        for c in row.captures_iter(code) {
            assert_eq!(
                &c[2], &c[3],
                "{name}: the row of {} says {} but its handler is built with {}",
                &c[1], &c[2], &c[3]
            );
            routed.insert(op(&c[2], &c[1]));
        }
        for c in call.captures_iter(code) {
            let methods = chained_methods(code, c.get(1).unwrap().start());
            assert!(
                !methods.is_empty(),
                "{name}: no method found for .route(\"{}\", ..)",
                &c[2]
            );
            for method in methods {
                routed.insert(op(&method, &c[2]));
            }
        }
    }
    routed
}

fn documented(doc: &Value) -> BTreeSet<Op> {
    doc["paths"]
        .as_object()
        .expect("the document has paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("a path item is an object")
                .keys()
                .filter(|k| METHODS.contains(&k.as_str()))
                .map(move |method| op(method, path))
        })
        .collect()
}

fn request(method: &str, uri: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap()
}

#[tokio::test]
async fn the_openapi_document_and_the_router_have_the_same_routes() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;
    let doc = call(&state, request("GET", "/openapi.json")).await.json();
    let documented = documented(&doc);
    let routed = routed_in_source();

    // The source reading finds at least the library's own route table (else a change of
    // layout would leave it finding nothing and this test proving nothing).
    let table: BTreeSet<Op> = intentdesk::http::route_table()
        .into_iter()
        .map(|(path, method)| op(method, path))
        .collect();
    let unread: BTreeSet<_> = table.difference(&routed).cloned().collect();
    assert!(
        unread.is_empty(),
        "route_table() rows the source reading missed:\n{}read from src/http:\n{}",
        listing(&unread),
        listing(&routed)
    );

    let lists = format!(
        "routed (src/http):\n{}documented (/openapi.json):\n{}",
        listing(&routed),
        listing(&documented)
    );
    let undocumented: BTreeSet<_> = routed.difference(&documented).cloned().collect();
    let unrouted: BTreeSet<_> = documented.difference(&routed).cloned().collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routed but not documented:\n{}documented but not routed:\n{}{lists}",
        listing(&undocumented),
        listing(&unrouted)
    );

    // The app itself: no documented operation gets the router's own answers to a path or a
    // method it does not serve (405, or the fallback's 404 body; a handler's 404 for the
    // placeholder id names the id instead). Both answers are checked on requests the router
    // must refuse first, so the check below can fail.
    let no_path = call(&state, request("GET", "/v1/no-such-route")).await;
    assert_eq!(no_path.status, StatusCode::NOT_FOUND, "{}", no_path.text);
    let fallback_404 = no_path.text;
    let not_served = |r: &Reply| {
        r.status == StatusCode::METHOD_NOT_ALLOWED
            || (r.status == StatusCode::NOT_FOUND && r.text == fallback_404)
    };
    let no_method = call(&state, request("DELETE", "/health")).await;
    assert!(
        not_served(&no_method),
        "DELETE /health: {} {}",
        no_method.status,
        no_method.text
    );
    let handler_404 = call(
        &state,
        request("GET", "/v1/conversations/placeholder-id/events"),
    )
    .await;
    assert!(
        handler_404.status == StatusCode::NOT_FOUND && !not_served(&handler_404),
        "an unknown id must be the handler's 404, told apart from the router's: {}",
        handler_404.text
    );

    let asset = intentdesk::http::ui::asset_names()[0];
    let mut refused = Vec::new();
    for (method, path) in &documented {
        let uri = path
            .replace("{id}", "placeholder-id")
            .replace("{name}", asset);
        let r = call(&state, request(method, &uri)).await;
        if not_served(&r) {
            refused.push(format!("  {method} {uri}: {} {}\n", r.status, r.text));
        }
    }
    assert!(
        refused.is_empty(),
        "documented but not served by the app:\n{}{lists}",
        refused.concat()
    );
}
