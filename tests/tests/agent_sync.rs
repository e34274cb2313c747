//! Integration plugins through the real server, with the built-in agent sync: its routes are mounted under
//! `/api/v1` behind token scopes and listed in the OpenAPI document; a sync creates, updates and disables
//! agents and is idempotent; bad input names the field; a plugin without its capability grant is refused.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use natter_core::domain::scope::Scope;
use natter_tests::{Api, DataDir, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

fn agent(external_id: &str, name: &str, groups: &[&str]) -> Value {
    json!({
        "externalId": external_id,
        "email": format!("{external_id}@example.com"),
        "name": name,
        "groups": groups,
    })
}

async fn sync(api: &Api, agents: Vec<Value>) -> (StatusCode, Value) {
    api.send(
        "PUT",
        "/api/v1/agents/sync",
        Some(json!({ "agents": agents })),
    )
    .await
    .unwrap()
}

/// The stored agents with an external id, by it.
async fn synced(api: &Api) -> serde_json::Map<String, Value> {
    let agents = api.get("/api/v1/agents").await.unwrap();
    agents
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| Some((a["external_id"].as_str()?.to_string(), a.clone())))
        .collect()
}

#[tokio::test]
async fn a_sync_creates_updates_and_disables_and_the_same_list_twice_changes_nothing() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let local = api.create_agent("local").await;

    let (status, changed) = sync(
        &api,
        vec![
            agent("a-1", "Ada", &["sales"]),
            agent("b-2", "Bob", &[]),
            agent("c-3", "Cy", &["support", "sales"]),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        changed,
        json!({"created": ["a-1", "b-2", "c-3"], "updated": [], "disabled": [], "unchanged": []})
    );
    let stored = synced(&api).await;
    assert_eq!(stored.len(), 3);
    assert_eq!(stored["c-3"]["groups"], json!(["sales", "support"]));
    assert_eq!(stored["a-1"]["email"], "a-1@example.com");
    assert_eq!(stored["a-1"]["enabled"], true);

    // Ada is renamed, Bob stays, Cy is gone, Dee is new.
    let next = vec![
        agent("a-1", "Ada Lovelace", &["sales"]),
        agent("b-2", "Bob", &[]),
        agent("d-4", "Dee", &[]),
    ];
    let (status, changed) = sync(&api, next.clone()).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        changed,
        json!({"created": ["d-4"], "updated": ["a-1"], "disabled": ["c-3"], "unchanged": ["b-2"]})
    );
    let stored = synced(&api).await;
    assert_eq!(stored["a-1"]["name"], "Ada Lovelace");
    assert_eq!(stored["c-3"]["enabled"], false, "disabled, not deleted");
    assert_eq!(stored["a-1"]["id"], synced(&api).await["a-1"]["id"]);

    // The same list again: nothing changes.
    let (status, changed) = sync(&api, next).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        changed,
        json!({"created": [], "updated": [], "disabled": [], "unchanged": ["a-1", "b-2", "d-4"]})
    );

    // An agent made in Natter itself is not the directory's to disable.
    let local = api.get(&format!("/api/v1/agents/{local}")).await.unwrap();
    assert_eq!(local["enabled"], true);
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let mut bad = agent("b-2", "Bob", &[]);
    bad["email"] = json!("not an email");
    let (status, body) = sync(&api, vec![agent("a-1", "Ada", &[]), bad]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(body["error"]["field"], "agents[1].email");
    assert!(synced(&api).await.is_empty(), "nothing written");

    let (status, body) = api
        .send("PUT", "/api/v1/agents/sync", Some(json!({"people": []})))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "agents");

    let response = reqwest::Client::new()
        .put(server.url("/api/v1/agents/sync"))
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn one_agent_is_put_and_disabled_by_external_id_and_an_unknown_one_is_404() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let body = json!({"email": "eve@example.com", "name": "Eve", "groups": ["ops"]});

    let (status, created) = api
        .send("PUT", "/api/v1/agents/e-5", Some(body.clone()))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["change"], "created");
    assert_eq!(created["externalId"], "e-5");

    let (status, again) = api
        .send("PUT", "/api/v1/agents/e-5", Some(body))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["change"], "unchanged");
    assert_eq!(again["id"], created["id"]);

    let (status, disabled) = api
        .send("DELETE", "/api/v1/agents/e-5", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{disabled}");
    assert_eq!(disabled["enabled"], false);
    let stored = api
        .get(&format!(
            "/api/v1/agents/{}",
            created["id"].as_str().unwrap()
        ))
        .await
        .unwrap();
    assert_eq!(stored["enabled"], false, "still there, disabled");

    let (status, body) = api
        .send("DELETE", "/api/v1/agents/nobody", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn a_disabled_agent_cannot_sign_in_and_loses_its_session() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let (_, created) = api
        .send(
            "PUT",
            "/api/v1/agents/f-6",
            Some(json!({"email": "fay@example.com", "name": "Fay"})),
        )
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let (status, _) = api
        .send(
            "PUT",
            &format!("/api/v1/agents/{id}/password"),
            Some(json!({"password": PASSWORD})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NO_CONTENT);
    let client = reqwest::Client::new();
    let sign_in = || {
        client
            .post(server.url("/agent/login"))
            .json(&json!({"email": "fay@example.com", "password": PASSWORD}))
            .send()
    };
    let response = sign_in().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let me = || {
        client
            .get(server.url("/agent/api/me"))
            .header("cookie", &cookie)
            .send()
    };
    assert_eq!(me().await.unwrap().status(), StatusCode::OK);

    let (status, _) = sync(&api, vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn plugin_routes_need_a_token_with_their_scope_and_built_in_routes_still_answer() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let reader = admin.with_token(&server.token(&[Scope::AgentsRead]).await);
    let nobody = admin.with_token("");

    let (status, body) = sync(&nobody, vec![]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = sync(&reader, vec![]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("agents:write")
    );

    // `GET /agents/{id}` stays the built-in route; a method nobody serves is still 405.
    let id = admin.create_agent("kim").await;
    let kim = reader.get(&format!("/api/v1/agents/{id}")).await.unwrap();
    assert_eq!(kim["name"], "kim");
    let (status, _) = admin.send("PATCH", "/api/v1/agents", None).await.unwrap();
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, body) = admin
        .send("GET", "/api/v1/nothing/here", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn plugin_routes_are_in_the_openapi_document() {
    let server = TestServer::start().await;
    let doc = reqwest::get(server.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let sync = &doc["paths"]["/api/v1/agents/sync"]["put"];
    assert_eq!(sync["tags"], json!(["agent-sync"]), "{doc}");
    assert_eq!(sync["security"], json!([{"bearer": ["agents:write"]}]));
    assert_eq!(
        sync["requestBody"]["content"]["application/json"]["schema"]["required"],
        json!(["agents"])
    );
    // One path per shape: the plugin's methods join the built-in `/agents/{id}`, whose GET stays.
    let one = &doc["paths"]["/api/v1/agents/{id}"];
    assert!(one["get"].is_object());
    assert_eq!(one["put"]["tags"], json!(["agent-sync"]));
    assert_eq!(one["delete"]["parameters"][0]["name"], "id");
    assert!(doc["paths"].get("/api/v1/agents/{externalId}").is_none());
}

#[tokio::test]
async fn without_its_grant_the_plugin_is_refused_and_then_disabled() {
    let data = DataDir::new();
    let server = TestServer::start_with(&data, |config| {
        config.plugins.grants.clear();
        config.plugins.failures_before_disable = 2;
    })
    .await;
    let api = server.admin().await;

    let (status, body) = sync(&api, vec![agent("a-1", "Ada", &[])]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "plugin_unavailable");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("agents.read") && message.contains("not granted"),
        "{message}"
    );
    assert!(synced(&api).await.is_empty(), "nothing written");

    // The second refusal disables the plugin; a disabled plugin answers 503 without running.
    let (status, _) = sync(&api, vec![]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, body) = api
        .send("DELETE", "/api/v1/agents/a-1", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disabled"),
        "{body}"
    );
    let plugins = api.get("/api/v1/plugins").await.unwrap();
    let sync_plugin = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "agent-sync")
        .unwrap();
    assert_eq!(sync_plugin["status"], "disabled");
    assert_eq!(sync_plugin["capabilities_granted"], json!([]));
}
