//! The REST routes the admin console's rule pages stand on: checking a script before saving it,
//! reordering rules, the test runner's local time and reasons, and the time zone list.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use natter_tests::{Api, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn add_rule(api: &Api, body: Value) -> String {
    let rule = api.post("/api/v1/rules", body).await.unwrap();
    rule["id"].as_str().unwrap().to_string()
}

fn names(rules: &Value) -> Vec<&str> {
    rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn compile_checks_a_script_and_answers_its_error_position() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let ok = api
        .post(
            "/api/v1/rules/compile",
            json!({"script": "if visitor.visits > 1 { show() }"}),
        )
        .await
        .unwrap();
    assert_eq!(ok, json!({"ok": true}));

    let (status, body) = api
        .send(
            "POST",
            "/api/v1/rules/compile",
            Some(json!({"script": "// fine\nlet a = 1;\nlet b = ;\n"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "script_invalid");
    assert_eq!(body["error"]["line"], 3, "{body}");
    assert_eq!(body["error"]["column"], 9, "{body}");

    let (status, body) = api
        .send("POST", "/api/v1/rules/compile", Some(json!({"script": 3})))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Nothing was saved by checking.
    assert_eq!(api.get("/api/v1/rules").await.unwrap(), json!([]));
    server.stop().await;
}

#[tokio::test]
async fn reorder_puts_every_rule_at_its_index_and_refuses_an_incomplete_list() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let a = add_rule(&api, json!({"name": "a", "script": "show()"})).await;
    let b = add_rule(&api, json!({"name": "b", "script": "hide()"})).await;
    let c = add_rule(&api, json!({"name": "c", "script": "away()"})).await;

    let (status, reordered) = api
        .send(
            "PUT",
            "/api/v1/rules/order",
            Some(json!({"ids": [c, a, b]})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{reordered}");
    assert_eq!(names(&reordered), ["c", "a", "b"]);
    let listed = api.get("/api/v1/rules").await.unwrap();
    assert_eq!(names(&listed), ["c", "a", "b"]);
    let positions: Vec<i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, [0, 1, 2]);
    // The rules now run in the new order: `c` (away) comes before `b` (hide) but hide still wins.
    let test = api.post("/api/v1/rules/test", json!({})).await.unwrap();
    assert_eq!(test["rules"][0]["name"], "c");

    let unknown = uuid::Uuid::new_v4().to_string();
    for ids in [json!([a, b]), json!([a, b, b]), json!([a, b, c, unknown])] {
        let (status, body) = api
            .send("PUT", "/api/v1/rules/order", Some(json!({ "ids": ids })))
            .await
            .unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{ids}: {body}");
        assert_eq!(body["error"]["field"], "ids", "{body}");
    }
    assert_eq!(
        names(&api.get("/api/v1/rules").await.unwrap()),
        ["c", "a", "b"]
    );
    server.stop().await;
}

#[tokio::test]
async fn the_test_runner_reads_local_time_in_the_zone_and_explains_each_rule() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    add_rule(
        &api,
        json!({"name": "Office hours", "builtin": "opening_hours",
               "params": {"spec": "mon-fri 09:00-17:00", "when_closed": "hide"}}),
    )
    .await;
    add_rule(
        &api,
        json!({"name": "VIP", "script": "if visitor.has_label(\"vip\") { show() }"}),
    )
    .await;
    let run = |local: &str, labels: Value| {
        json!({"local_time": local, "context": {"timezone": "America/New_York",
               "visitor": {"customer": {"id": "c1", "labels": labels}}}})
    };

    let before = api
        .post("/api/v1/rules/test", run("2026-12-03T08:59:00", json!([])))
        .await
        .unwrap();
    assert_eq!(before["visible"], false, "{before}");
    assert_eq!(
        before["decided_by"],
        json!({"kind": "rule", "name": "Office hours"})
    );
    assert_eq!(before["now"], "2026-12-03T13:59:00Z");
    assert_eq!(
        before["reasons"][0],
        "closed at Thu 2026-12-03 08:59 in America/New_York (hours \"mon-fri 09:00-17:00\"): hide"
    );
    assert_eq!(before["reasons"][1], "the script answered no opinion");

    let after = api
        .post(
            "/api/v1/rules/test",
            run("2026-12-03T09:01:00", json!(["vip"])),
        )
        .await
        .unwrap();
    assert_eq!(after["visible"], true, "{after}");
    assert_eq!(
        after["reasons"][0],
        "open at Thu 2026-12-03 09:01 in America/New_York (hours \"mon-fri 09:00-17:00\"): show"
    );
    assert_eq!(after["reasons"][1], "the script answered show");

    // 02:30 does not exist in New York on the night the clock springs forward.
    let (status, body) = api
        .send(
            "POST",
            "/api/v1/rules/test",
            Some(run("2026-03-08T02:30:00", json!([]))),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "local_time");
    server.stop().await;
}

#[tokio::test]
async fn timezones_lists_the_iana_names() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let zones = api.get("/api/v1/rules/timezones").await.unwrap();
    let zones: Vec<&str> = zones
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z.as_str().unwrap())
        .collect();
    assert!(zones.contains(&"America/New_York"));
    assert!(zones.contains(&"Europe/Paris"));
    assert!(zones.contains(&"UTC"));
    server.stop().await;
}
