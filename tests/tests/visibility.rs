//! Action Rules and REST overrides, decided on the server and pushed live to connected widgets.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use natter_tests::{Api, TestServer, Ws};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn visitor(server: &TestServer) -> (Ws, String) {
    let site = server.site_key().await;
    let (ws, welcome) = server.visitor(&site, None, None).await;
    (ws, welcome["visitor_id"].as_str().unwrap().to_string())
}

async fn visibility(ws: &mut Ws) -> Value {
    ws.expect("visibility").await
}

#[tokio::test]
async fn with_nothing_configured_the_widget_is_visible() {
    let server = TestServer::start().await;
    let (mut ws, _) = visitor(&server).await;
    let frame = visibility(&mut ws).await;
    assert_eq!(frame["visible"], true);
    assert_eq!(frame["decided_by"]["kind"], "default");
    server.stop().await;
}

#[tokio::test]
async fn rest_overrides_hide_and_show_live_and_the_most_specific_wins() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let (mut ws, visitor_id) = visitor(&server).await;
    assert_eq!(visibility(&mut ws).await["visible"], true);

    api.send(
        "PUT",
        "/api/v1/visibility",
        Some(json!({"scope": "site", "action": "hide"})),
    )
    .await
    .unwrap();
    let hidden = visibility(&mut ws).await;
    assert_eq!(hidden["visible"], false);
    assert_eq!(
        hidden["decided_by"],
        json!({"kind": "override", "scope": "site"})
    );

    let (status, _) = api
        .send(
            "PUT",
            "/api/v1/visibility",
            Some(json!({"scope": "visitor", "id": visitor_id, "action": "show"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    let shown = visibility(&mut ws).await;
    assert_eq!(shown["visible"], true);
    assert_eq!(shown["decided_by"]["scope"], "visitor");

    let in_force = api.get("/api/v1/visibility").await.unwrap();
    assert_eq!(in_force.as_array().unwrap().len(), 2);
    let decided = api
        .get(&format!("/api/v1/visibility/decide?visitor={visitor_id}"))
        .await
        .unwrap();
    assert_eq!(decided["connected"], true);
    assert_eq!(decided["decision"]["decided_by"]["scope"], "visitor");

    let (status, _) = api
        .send(
            "DELETE",
            &format!("/api/v1/visibility?scope=visitor&id={visitor_id}"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(visibility(&mut ws).await["visible"], false);
    api.send("DELETE", "/api/v1/visibility?scope=site", None)
        .await
        .unwrap();
    assert_eq!(visibility(&mut ws).await["visible"], true);

    let (status, body) = api
        .send(
            "PUT",
            "/api/v1/visibility",
            Some(json!({"scope": "customer", "id": "nope", "action": "hide"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "id");
    let (status, _) = api
        .send("DELETE", "/api/v1/visibility?scope=site", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

async fn add_rule(api: &Api, body: Value) -> Value {
    api.post("/api/v1/rules", body).await.unwrap()
}

#[tokio::test]
async fn any_agent_online_follows_agents_coming_and_going() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    add_rule(
        &api,
        json!({"name": "Agents online", "builtin": "any_agent_online"}),
    )
    .await;
    let (mut ws, _) = visitor(&server).await;
    let frame = visibility(&mut ws).await;
    assert_eq!(frame["visible"], false);
    assert_eq!(
        frame["decided_by"],
        json!({"kind": "rule", "name": "Agents online"})
    );

    // The visitor writes anyway (the form stays reachable through the API); an agent logs in.
    ws.send(json!({"type": "message", "client_id": "x", "body": "anyone?"}))
        .await;
    let conversation = ws.expect("ack").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, cookie) = server.agent_session(&api, "olive", &conversation).await;
    let (agent, _) = server.agent(&cookie, json!([])).await;
    assert_eq!(visibility(&mut ws).await["visible"], true);
    agent.close().await;
    assert_eq!(visibility(&mut ws).await["visible"], false);
    server.stop().await;
}

#[tokio::test]
async fn rule_changes_are_pushed_and_broken_scripts_are_refused_with_position() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let (mut ws, visitor_id) = visitor(&server).await;
    assert_eq!(visibility(&mut ws).await["visible"], true);

    let (status, body) = api
        .send(
            "POST",
            "/api/v1/rules",
            Some(json!({"name": "broken", "script": "if visitor.visits > {\n hide()"})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "script_invalid");
    assert!(body["error"]["line"].as_u64().is_some(), "{body}");
    assert!(body["error"]["column"].as_u64().is_some(), "{body}");
    let (status, body) = api
        .send("POST", "/api/v1/rules", Some(json!({"name": "bad params", "builtin": "seconds_on_page", "params": {"seconds": "ten"}})))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "params");
    assert!(
        api.get("/api/v1/rules")
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A runaway rule has no opinion and does not stop the others from deciding.
    let runaway = add_rule(&api, json!({"name": "runaway", "script": "loop { }"})).await;
    let careers = add_rule(
        &api,
        json!({"name": "not on careers", "script": "if visitor.url.contains(\"shop\") { hide() }"}),
    )
    .await;
    let hidden = visibility(&mut ws).await;
    assert_eq!(hidden["visible"], false);
    assert_eq!(hidden["decided_by"]["name"], "not on careers");
    let decided = api
        .get(&format!("/api/v1/visibility/decide?visitor={visitor_id}"))
        .await
        .unwrap();
    let reports = decided["decision"]["rules"].as_array().unwrap();
    assert_eq!(reports[0]["name"], "runaway");
    assert_eq!(reports[0]["answer"], "no_opinion");
    assert!(reports[0]["error"].is_string(), "{decided}");

    // Disabling the hiding rule shows the widget again; the version grows.
    let id = careers["id"].as_str().unwrap();
    let updated = api
        .send(
            "PUT",
            &format!("/api/v1/rules/{id}"),
            Some(json!({"name": "not on careers", "script": careers["script"], "enabled": false})),
        )
        .await
        .unwrap()
        .1;
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["position"], careers["position"]);
    assert_eq!(visibility(&mut ws).await["visible"], true);
    let (status, _) = api
        .send(
            "DELETE",
            &format!("/api/v1/rules/{}", runaway["id"].as_str().unwrap()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get("/api/v1/rules")
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn rules_can_be_tested_against_a_given_context() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    add_rule(
        &api,
        json!({"name": "second visit", "builtin": "nth_visit", "params": {"visit": 2}}),
    )
    .await;
    let first = api
        .post(
            "/api/v1/rules/test",
            json!({"context": {"visitor": {"visits": 1}}}),
        )
        .await
        .unwrap();
    assert_eq!(first["visible"], false);
    assert_eq!(first["rules"][0]["answer"], "hide");
    let second = api
        .post(
            "/api/v1/rules/test",
            json!({"context": {"visitor": {"visits": 2}}}),
        )
        .await
        .unwrap();
    assert_eq!(second["visible"], true);

    let draft = api
        .post(
            "/api/v1/rules/test",
            json!({"script": "if agents.available >= params.min { show() } else { hide() }",
                   "params": {"min": 2}, "context": {"agents": {"online": 3, "available": 1}}}),
        )
        .await
        .unwrap();
    assert_eq!(draft["visible"], false);
    let overridden = api
        .post(
            "/api/v1/rules/test",
            json!({"context": {"visitor": {"visits": 1}, "override": {"scope": "site", "action": "show"}}}),
        )
        .await
        .unwrap();
    assert_eq!(overridden["visible"], true);
    assert_eq!(overridden["decided_by"]["kind"], "override");
    let builtins = api.get("/api/v1/rules/builtins").await.unwrap();
    assert_eq!(builtins.as_array().unwrap().len(), 5);
    server.stop().await;
}

#[tokio::test]
async fn timers_show_the_widget_after_n_seconds_and_end_overrides_without_polling() {
    let server = TestServer::start_with_system_clock().await;
    let api = server.admin().await;
    add_rule(
        &api,
        json!({"name": "three seconds", "builtin": "seconds_on_page", "params": {"seconds": 3}}),
    )
    .await;
    let (mut ws, _) = visitor(&server).await;
    let first = visibility(&mut ws).await;
    assert_eq!(first["visible"], false);
    // No frame is sent by the client: the server's own timer fires. (Well inside the helper's own
    // wait for a frame, which a ten-second rule had raced.)
    let later = tokio::time::timeout(std::time::Duration::from_secs(20), ws.expect("visibility"))
        .await
        .expect("the widget shows after about three seconds");
    assert_eq!(later["visible"], true);

    let until = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    api.send(
        "PUT",
        "/api/v1/visibility",
        Some(json!({"scope": "site", "action": "hide", "until": until})),
    )
    .await
    .unwrap();
    assert_eq!(visibility(&mut ws).await["visible"], false);
    assert_eq!(
        visibility(&mut ws).await["visible"],
        true,
        "the override ended by itself"
    );
    server.stop().await;
}

#[tokio::test]
async fn closed_hours_with_when_closed_away_keep_the_widget_visible_but_away() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    add_rule(
        &api,
        json!({"name": "Opening hours", "builtin": "opening_hours",
            "params": {"spec": "closed", "when_closed": "away"}}),
    )
    .await;
    let (mut ws, visitor_id) = visitor(&server).await;
    let frame = visibility(&mut ws).await;
    assert_eq!(frame["visible"], true, "{frame}");
    assert_eq!(frame["away"], true, "{frame}");
    assert_eq!(
        frame["decided_by"],
        json!({"kind": "rule", "name": "Opening hours"})
    );
    let decided = api
        .get(&format!("/api/v1/visibility/decide?visitor={visitor_id}"))
        .await
        .unwrap();
    assert_eq!(decided["decision"]["away"], true, "{decided}");
    assert_eq!(decided["decision"]["rules"][0]["answer"], "away");

    // A show override is the integrator's explicit word: visible, chat offered. The change of
    // `away` alone is pushed.
    api.send(
        "PUT",
        "/api/v1/visibility",
        Some(json!({"scope": "site", "action": "show"})),
    )
    .await
    .unwrap();
    let shown = visibility(&mut ws).await;
    assert_eq!(
        (shown["visible"].clone(), shown["away"].clone()),
        (json!(true), json!(false))
    );
    api.send("DELETE", "/api/v1/visibility?scope=site", None)
        .await
        .unwrap();
    assert_eq!(visibility(&mut ws).await["away"], true);

    // A hiding rule beats away.
    add_rule(&api, json!({"name": "hide all", "script": "hide()"})).await;
    let hidden = visibility(&mut ws).await;
    assert_eq!(
        (hidden["visible"].clone(), hidden["away"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(hidden["decided_by"]["name"], "hide all");
    server.stop().await;
}
