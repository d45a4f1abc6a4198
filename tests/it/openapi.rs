//! The contract: every route the App serves is in openapi.yaml, and back.

use std::collections::BTreeSet;

use crate::common::{read, Backend, TestApp};

/// `(METHOD, /path/{param})` pairs registered in src/api/mod.rs.
fn served_routes() -> BTreeSet<(String, String)> {
    // Whitespace removed, so rustfmt's line breaks do not matter.
    let src: String = include_str!("../../src/api/mod.rs")
        .split_whitespace()
        .collect();
    let scope = src
        .split("web::scope(\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("");
    let scope_at = src.find("web::scope(").unwrap_or(usize::MAX);
    let mut out = BTreeSet::new();
    let mut at = 0;
    while let Some(i) = src[at..].find(".route(\"") {
        let start = at + i + ".route(\"".len();
        let path = src[start..].split('"').next().unwrap();
        let method = src[start..]
            .split("web::")
            .nth(1)
            .unwrap()
            .split('(')
            .next()
            .unwrap()
            .to_uppercase();
        let prefix = if start > scope_at { scope } else { "" };
        out.insert((method, format!("{prefix}{path}")));
        at = start;
    }
    out
}

fn documented_routes() -> BTreeSet<(String, String)> {
    let doc: serde_yaml::Value =
        serde_yaml::from_str(include_str!("../../openapi.yaml")).expect("openapi.yaml is YAML");
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        for (method, _) in item.as_mapping().unwrap() {
            let m = method.as_str().unwrap();
            if ["get", "post", "put", "patch", "delete"].contains(&m) {
                out.insert((m.to_uppercase(), path.as_str().unwrap().to_string()));
            }
        }
    }
    out
}

#[test]
fn every_served_route_is_documented_and_back() {
    let served = served_routes();
    assert!(served.len() >= 20, "parsed routes: {served:?}");
    let documented = documented_routes();
    let missing: Vec<_> = served.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "served but not in openapi.yaml: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "in openapi.yaml but not served: {stale:?}"
    );
}

#[actix_web::test]
async fn the_spec_is_served_and_health_needs_no_token() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    for path in ["/healthz", "/readyz"] {
        let (status, body) = read(
            app.http
                .get(format!("{}{path}", app.base))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let spec = app
        .http
        .get(format!("{}/openapi.yaml", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(spec, include_str!("../../openapi.yaml"));
    app.stop().await;
}
