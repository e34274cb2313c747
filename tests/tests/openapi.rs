//! The served OpenAPI document says what the server does: the errors the extractors give (400, 415),
//! bounds and enums the server enforces, 405 with an `Allow` header that matches the document (plugin
//! routes included), and one identifier for a site in visibility overrides. `scripts/schemathesis.sh`
//! checks the same document from outside with generated requests.
#![allow(clippy::unwrap_used, reason = "tests fail loudly by design")]

use natter_tests::{Api, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

const NOWHERE: &str = "0191d5a2-0000-7000-8000-000000000000";

/// Status, `Allow` header and JSON body of a raw request.
async fn raw(
    api: &Api,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> (StatusCode, Option<String>, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = api
        .client
        .request(method, format!("{}{path}", api.base))
        .bearer_auth(&api.token);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.body(body.to_string()).send().await.unwrap();
    let status = response.status();
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, allow, body)
}

/// The methods the document lists for a path, upper case, sorted.
fn documented_methods(doc: &Value, path: &str) -> Vec<String> {
    let mut methods: Vec<String> = doc["paths"][path]
        .as_object()
        .unwrap_or_else(|| panic!("{path} is in the document"))
        .keys()
        .map(|m| m.to_uppercase())
        .collect();
    methods.sort();
    methods
}

fn sorted_allow(allow: &str) -> Vec<String> {
    let mut methods: Vec<String> = allow
        .split(',')
        .map(|m| m.trim().to_string())
        .filter(|m| m != "HEAD")
        .collect();
    methods.sort();
    methods
}

#[tokio::test]
async fn a_malformed_id_in_a_path_is_400_naming_it_and_documented() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    for (method, path) in [
        ("GET", "/api/v1/conversations/not-a-uuid"),
        ("POST", "/api/v1/conversations/42/close"),
        ("GET", "/api/v1/agents/x"),
        ("DELETE", "/api/v1/webhooks/nope"),
        ("GET", "/api/v1/rules/1"),
    ] {
        let (status, body) = api.send(method, path, None).await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "bad_request");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("UUID"), "{message}");
    }
    // A well-formed id that names nothing is still 404.
    let (status, _) = api
        .send("GET", &format!("/api/v1/conversations/{NOWHERE}"), None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);

    let doc = api.get("/api/v1/openapi.json").await.unwrap();
    for (path, method) in [
        ("/api/v1/conversations/{id}", "get"),
        ("/api/v1/conversations/{id}/close", "post"),
        ("/api/v1/webhooks/{id}", "delete"),
    ] {
        assert!(
            doc["paths"][path][method]["responses"]["400"].is_object(),
            "{method} {path} documents 400"
        );
    }
    // A path whose parameter is a name, not an id, has no such 400.
    assert!(doc["paths"]["/api/v1/plugins/{name}/enable"]["post"]["responses"]["400"].is_null());
    server.stop().await;
}

#[tokio::test]
async fn a_body_in_another_content_type_is_415_and_documented_where_a_body_is_taken() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let body = json!({"email": "ada@example.com", "name": "Ada"}).to_string();
    let (status, _, answer) = raw(&api, "POST", "/api/v1/agents", Some("text/plain"), &body).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{answer}");
    assert_eq!(answer["error"]["code"], "unsupported_media_type");
    let (status, _, _) = raw(&api, "POST", "/api/v1/agents", None, &body).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Plugin routes take JSON only too.
    let (status, _, answer) = raw(
        &api,
        "PUT",
        "/api/v1/customers/crm-1",
        Some("application/x-www-form-urlencoded"),
        "email=a%40example.com",
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{answer}");
    let agents = api.get("/api/v1/agents").await.unwrap();
    assert_eq!(agents, json!([]), "nothing was created");

    let doc = api.get("/api/v1/openapi.json").await.unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = &operation["responses"];
            if operation["requestBody"].is_object() {
                for status in ["400", "413", "415"] {
                    assert!(
                        responses[status].is_object(),
                        "{method} {path} takes a body and documents {status}"
                    );
                }
            } else {
                assert!(responses["415"].is_null(), "{method} {path} takes no body");
            }
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn plugin_paths_answer_405_with_the_methods_the_document_lists() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let doc = api.get("/api/v1/openapi.json").await.unwrap();
    let agent = format!("/api/v1/agents/{NOWHERE}");
    // (request path, method nobody serves there, the document's path)
    let cases = [
        // Only the agent sync plugin's PUT: more specific than the built-in `/agents/{id}`.
        ("/api/v1/agents/sync", "OPTIONS", "/api/v1/agents/sync"),
        ("/api/v1/agents/sync", "GET", "/api/v1/agents/sync"),
        ("/api/v1/agents/sync", "POST", "/api/v1/agents/sync"),
        // The built-in GET and the plugin's PUT and DELETE of the same shape.
        (agent.as_str(), "POST", "/api/v1/agents/{id}"),
        (agent.as_str(), "OPTIONS", "/api/v1/agents/{id}"),
        // Plugin routes alone.
        ("/api/v1/customers/crm-1", "POST", "/api/v1/customers/{id}"),
        ("/api/v1/customers/crm-1", "PATCH", "/api/v1/customers/{id}"),
        (
            "/api/v1/customers/crm-1/labels/vip",
            "GET",
            "/api/v1/customers/{id}/labels/{label}",
        ),
        // Built-in routes alone keep axum's answer.
        ("/api/v1/rules/builtins", "DELETE", "/api/v1/rules/builtins"),
    ];
    for (path, method, documented) in cases {
        let (status, allow, body) = raw(&api, method, path, None, "").await;
        assert_eq!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {body}"
        );
        let allow = allow.unwrap_or_else(|| panic!("{method} {path} says what is allowed"));
        assert_eq!(
            sorted_allow(&allow),
            documented_methods(&doc, documented),
            "{method} {path}: Allow: {allow}"
        );
    }
    assert_eq!(
        documented_methods(&doc, "/api/v1/agents/{id}"),
        ["DELETE", "GET", "PUT"]
    );
    assert_eq!(documented_methods(&doc, "/api/v1/agents/sync"), ["PUT"]);
    let (_, _, body) = raw(&api, "POST", "/api/v1/customers/crm-1", None, "").await;
    assert_eq!(body["error"]["code"], "method_not_allowed");

    // The methods that are served still are.
    let (status, _, body) = raw(
        &api,
        "PUT",
        "/api/v1/agents/sync",
        Some("application/json"),
        &json!({"agents": []}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) = raw(&api, "GET", "/api/v1/customers/crm-1", None, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn rules_test_refuses_bodies_the_schema_forbids() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    for (body, field) in [
        (
            json!({"script": null, "params": [null, null], "context": {}}),
            "params",
        ),
        (json!({"params": "x"}), "params"),
        (json!({"script": "show()", "params": 3}), "params"),
        (json!({"context": [1]}), "context"),
        (json!({"script": 5}), "script"),
        (json!({"sneaky": true}), "sneaky"),
    ] {
        let (status, answer) = api
            .send("POST", "/api/v1/rules/test", Some(body.clone()))
            .await
            .unwrap();
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} -> {answer}"
        );
        let named = answer["error"]["field"].as_str().unwrap();
        assert!(named.starts_with(field), "{body} -> {answer}");
    }
    // Configuration documents are objects.
    for path in [
        "/api/v1/widget/config",
        "/api/v1/cobrowse/config",
        "/api/v1/plugins/agent-sync/config",
    ] {
        for body in [json!(""), json!([]), json!(null)] {
            let (status, answer) = api.send("PUT", path, Some(body.clone())).await.unwrap();
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "PUT {path} {body} -> {answer}"
            );
        }
    }
    let (status, answer) = api
        .send(
            "POST",
            "/api/v1/rules/test",
            Some(json!({"script": "show()", "params": {}, "context": {}})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["visible"], true);
    server.stop().await;
}

#[tokio::test]
async fn bounds_and_enums_the_server_enforces_are_in_the_document() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    for path in [
        "/api/v1/conversations?limit=0",
        "/api/v1/conversations?limit=201",
        &format!("/api/v1/webhooks/{NOWHERE}/deliveries?limit=0"),
    ] {
        let (status, body) = api.send("GET", path, None).await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("limit"));
    }
    let (status, _) = api
        .send("GET", "/api/v1/conversations?limit=200", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);

    let doc = api.get("/api/v1/openapi.json").await.unwrap();
    let param = |path: &str, method: &str, name: &str| -> Value {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{method} {path} has {name}"))["schema"]
            .clone()
    };
    let limit = param("/api/v1/conversations", "get", "limit");
    assert_eq!(
        (limit["minimum"].clone(), limit["maximum"].clone()),
        (json!(1), json!(200))
    );
    let scope = param("/api/v1/visibility", "delete", "scope");
    assert_eq!(scope["enum"], json!(["site", "customer", "visitor"]));

    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["OverrideBody"]["properties"]["action"]["enum"],
        json!(["show", "hide"])
    );
    for (schema, field) in [
        ("CreateAgent", "name"),
        ("CreateAgent", "external_id"),
        ("CreateSite", "name"),
        ("CreateToken", "name"),
        ("RuleBody", "name"),
        ("CreateWebhook", "url"),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["minLength"], 1,
            "{schema}.{field}"
        );
    }
    let (status, body) = api
        .send(
            "POST",
            "/api/v1/agents",
            Some(json!({"email": "a@example.com", "name": "A", "external_id": ""})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "external_id");

    // Where mail is off, every mail route documents the 503 it answers.
    for (path, method) in [
        ("/api/v1/mail/deliveries", "get"),
        ("/api/v1/mail/deliveries/{id}/attempts", "get"),
        ("/api/v1/conversations/{id}/transcript", "post"),
        ("/api/v1/widget/offline-messages", "post"),
        ("/api/v1/widget/transcripts", "post"),
    ] {
        assert!(
            doc["paths"][path][method]["responses"]["503"].is_object(),
            "{method} {path} documents 503"
        );
    }
    let (status, body) = api
        .send("GET", "/api/v1/mail/deliveries", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "mail_disabled");
    server.stop().await;
}

#[tokio::test]
async fn a_site_override_is_named_by_the_site_key_both_ways() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let key = server.site_key().await;
    let put = api
        .send(
            "PUT",
            "/api/v1/visibility",
            Some(json!({"scope": "site", "id": key, "action": "hide"})),
        )
        .await
        .unwrap();
    assert_eq!(put.0, StatusCode::OK, "{}", put.1);
    assert_eq!(put.1["scope"], "site");
    assert_eq!(
        put.1["id"], key,
        "the answer names the site as the request did"
    );

    // Left out, `id` is the first site: answered with its key too.
    let default = api
        .send(
            "PUT",
            "/api/v1/visibility",
            Some(json!({"scope": "site", "action": "show"})),
        )
        .await
        .unwrap();
    assert_eq!(default.1["id"], key);

    let visitor = uuid::Uuid::new_v4().to_string();
    api.send(
        "PUT",
        "/api/v1/visibility",
        Some(json!({"scope": "visitor", "id": visitor, "action": "hide"})),
    )
    .await
    .unwrap();
    let listed = api.get("/api/v1/visibility").await.unwrap();
    let mut ids: Vec<(String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["scope"].as_str().unwrap().to_string(),
                o["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            ("site".to_string(), key.clone()),
            ("visitor".to_string(), visitor)
        ]
    );

    // What the list says is what DELETE takes.
    let (status, _) = api
        .send(
            "DELETE",
            &format!("/api/v1/visibility?scope=site&id={key}"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NO_CONTENT);
    let listed = api.get("/api/v1/visibility").await.unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["scope"] != "site")
    );

    let doc = api.get("/api/v1/openapi.json").await.unwrap();
    let id = &doc["components"]["schemas"]["OverrideDto"]["properties"]["id"];
    assert_eq!(id["type"], "string");
    assert!(id["description"].as_str().unwrap().contains("site key"));
    server.stop().await;
}
