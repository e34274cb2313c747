//! Customer tagging through the real server, with the built-in `customer-tags` plugin: upsert by the
//! integrator's id, labels replaced / added / removed, `customer.updated` to a signature-checking
//! receiver, identity proofs from the widget linking a visitor to the customer, labels seen by rules and
//! by agents, and the refusals (422 naming the field, 404, scopes, no grant).
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::time::Duration;

use hmac::{Hmac, Mac};
use natter_core::domain::scope::Scope;
use natter_tests::receiver::Receiver;
use natter_tests::{Api, DataDir, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

const WAIT: Duration = Duration::from_secs(20);

async fn put(api: &Api, id: &str, body: Value) -> (StatusCode, Value) {
    api.send("PUT", &format!("/api/v1/customers/{id}"), Some(body))
        .await
        .unwrap()
}

/// What an integrator's backend computes for the page: hex HMAC-SHA256 of the id under the secret.
fn proof(secret: &str, customer_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(customer_id.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_customer_is_upserted_by_the_integrators_id_and_labels_change_every_way() {
    let server = TestServer::start_with(&DataDir::new(), |c| {
        c.delivery.allow_private_targets = true;
        c.delivery.poll_interval_ms = 20;
    })
    .await;
    let api = server.admin().await;
    let receiver = Receiver::start().await;
    receiver.subscribe(&api, &["customer.updated"]).await;

    let body = json!({"id": "cust-42", "email": "ada@example.com", "firstname": "Ada",
        "lastname": "Lovelace", "labels": ["vip", "beta", "vip"]});
    let (status, created) = put(&api, "cust-42", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["id"], "cust-42");
    assert_eq!(created["change"], "created");
    assert_eq!(
        created["labels"],
        json!(["beta", "vip"]),
        "sorted, once each"
    );
    let customer_id = created["customerId"].as_str().unwrap().to_string();

    // The same body again changes nothing and causes no event.
    let (status, again) = put(&api, "cust-42", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["change"], "unchanged");
    assert_eq!(again["customerId"], customer_id.as_str());

    // Left-out fields stay; labels are added and removed in one go; then one by one.
    let (_, edited) = put(
        &api,
        "cust-42",
        json!({"labels": {"add": ["enterprise"], "remove": ["beta"]}}),
    )
    .await;
    assert_eq!(edited["change"], "updated");
    assert_eq!(edited["labels"], json!(["enterprise", "vip"]));
    assert_eq!(edited["firstname"], "Ada", "kept");
    let added = api
        .post(
            "/api/v1/customers/cust-42/labels",
            json!({"labels": ["churn-risk"]}),
        )
        .await
        .unwrap();
    assert_eq!(added["labels"], json!(["churn-risk", "enterprise", "vip"]));
    let (status, removed) = api
        .send("DELETE", "/api/v1/customers/cust-42/labels/vip", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(removed["labels"], json!(["churn-risk", "enterprise"]));
    // `null` clears a field; a list replaces the labels.
    let (_, cleared) = put(
        &api,
        "cust-42",
        json!({"lastname": null, "labels": ["vip"]}),
    )
    .await;
    assert_eq!(cleared["lastname"], Value::Null);
    assert_eq!(cleared["labels"], json!(["vip"]));
    let read = api.get("/api/v1/customers/cust-42").await.unwrap();
    assert_eq!(read["email"], "ada@example.com");
    assert_eq!(read["labels"], json!(["vip"]));

    // One signed event per change (created, add/remove, add, remove, clear), none for "unchanged".
    receiver
        .wait_for("five customer.updated events", WAIT, |d| d.len() >= 5)
        .await;
    // Time for a sixth, wrong, event to arrive if the unchanged write had caused one.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let delivered = receiver.delivered();
    assert_eq!(delivered.len(), 5, "{delivered:?}");
    assert!(delivered.iter().all(|d| d.verified));
    let last = &delivered[4].body;
    assert_eq!(last["type"], "customer.updated");
    assert_eq!(last["data"]["customerId"], customer_id.as_str());
    assert_eq!(last["data"]["externalId"], "cust-42");
    assert_eq!(last["data"]["labels"], json!(["vip"]));
    assert_eq!(delivered[0].body["data"]["firstname"], "Ada");
    server.stop().await;
}

#[tokio::test]
async fn bad_bodies_name_the_field_and_unknown_customers_are_404() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let cases = [
        (json!({"id": "someone-else"}), "id"),
        (json!({"email": "not an email"}), "email"),
        (json!({"firstname": 7}), "firstname"),
        (json!({"labels": ["ok", ""]}), "labels[1]"),
        (json!({"labels": {"add": "vip"}}), "labels.add"),
        (json!({"labels": "vip"}), "labels"),
        (json!([1, 2]), "body"),
    ];
    for (body, field) in cases {
        let (status, answer) = put(&api, "c-1", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "validation_failed", "{answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    let (status, answer) = api
        .send("PUT", "/api/v1/customers/c-1", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    // Nothing was written by any of them.
    for path in ["/api/v1/customers/c-1", "/api/v1/customers/nobody"] {
        let (status, answer) = api.send("GET", path, None).await.unwrap();
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
        assert_eq!(answer["error"]["code"], "not_found");
    }
    let (status, _) = api
        .send(
            "POST",
            "/api/v1/customers/nobody/labels",
            Some(json!({"labels": ["x"]})),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .send("DELETE", "/api/v1/customers/nobody/labels/x", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Scopes: reading needs customers:read, writing customers:write.
    let reader = api.with_token(&server.token(&[Scope::CustomersRead]).await);
    let (status, _) = put(&reader, "c-2", json!({"email": "c2@example.com"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let writer = api.with_token(&server.token(&[Scope::CustomersWrite]).await);
    let (status, _) = put(&writer, "c-2", json!({"email": "c2@example.com"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        reader.get("/api/v1/customers/c-2").await.unwrap()["email"],
        "c2@example.com"
    );

    // The routes are in the OpenAPI document like built-in ones.
    let doc = api.get("/api/v1/openapi.json").await.unwrap();
    let put_doc = &doc["paths"]["/api/v1/customers/{id}"]["put"];
    assert_eq!(put_doc["tags"], json!(["customer-tags"]), "{put_doc}");
    assert!(doc["paths"]["/api/v1/customers/{id}/labels/{label}"]["delete"].is_object());
    server.stop().await;
}

#[tokio::test]
async fn without_the_grant_the_plugin_is_refused_and_writes_nothing() {
    let server = TestServer::start_with(&DataDir::new(), |c| {
        c.plugins.grants.remove("customer-tags");
    })
    .await;
    let api = server.admin().await;
    let (status, body) = put(&api, "c-1", json!({"email": "c1@example.com"})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("customers.read") && message.contains("not granted"),
        "{message}"
    );
    server.stop().await;
    let server = TestServer::start().await;
    let api = server.admin().await;
    let (status, _) = api
        .send("GET", "/api/v1/customers/c-1", None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

/// A hello with `customer: {id, hash}`; answers the socket and the frames before the welcome's
/// follow-ups (an `identity_refused` error comes right after the hello, before the welcome).
async fn identified_visitor(
    server: &TestServer,
    site: &str,
    customer: Value,
) -> (natter_tests::Ws, Option<Value>) {
    let url = format!("{}/ws/visitor?site={site}", server.ws_base);
    let mut ws = natter_tests::Ws::connect(&url, None).await.unwrap();
    ws.send(json!({"type": "hello", "v": 1, "customer": customer,
        "page": {"url": "http://shop.test/", "title": "Shop", "referrer": ""}}))
        .await;
    let first = ws.next().await.unwrap();
    if first["type"] == "welcome" {
        return (ws, None);
    }
    ws.expect("welcome").await;
    (ws, Some(first))
}

/// The customer of the conversation the visitor's first message opens.
async fn conversation_customer(api: &Api, ws: &mut natter_tests::Ws, body: &str) -> String {
    ws.send(json!({"type": "message", "client_id": body, "body": body}))
        .await;
    let conversation = ws.expect("ack").await["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = api
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await
        .unwrap();
    c["conversation"]["customer_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_proven_identity_links_the_visitor_and_rules_and_agents_see_the_labels() {
    let server = TestServer::start().await;
    let api = server.admin().await;
    let site_key = server.site_key().await;
    let sites = api.get("/api/v1/sites").await.unwrap();
    let site_id = sites[0]["id"].as_str().unwrap().to_string();
    let (_, tagged) = put(
        &api,
        "cust-7",
        json!({"email": "grace@example.com", "firstname": "Grace", "labels": ["vip"]}),
    )
    .await;
    let customer_id = tagged["customerId"].as_str().unwrap().to_string();

    // No secret yet: the identity is refused, and the chat goes on anonymously.
    let (mut ws, refused) =
        identified_visitor(&server, &site_key, json!({"id": "cust-7", "hash": "00"})).await;
    let refused = refused.expect("an identity_refused error");
    assert_eq!(refused["code"], "identity_refused", "{refused}");
    assert_ne!(
        conversation_customer(&api, &mut ws, "anonymous").await,
        customer_id
    );
    ws.close().await;

    let (status, secret) = api
        .send(
            "POST",
            &format!("/api/v1/sites/{site_id}/identity-secret"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED, "{secret}");
    let secret = secret["secret"].as_str().unwrap().to_string();

    // Someone claiming cust-7 with a proof for another id is refused.
    let forged = proof(&secret, "cust-8");
    let (mut ws, refused) =
        identified_visitor(&server, &site_key, json!({"id": "cust-7", "hash": forged})).await;
    assert_eq!(refused.unwrap()["code"], "identity_refused");
    assert_ne!(
        conversation_customer(&api, &mut ws, "forged").await,
        customer_id
    );
    ws.close().await;

    // The right proof links the visitor: their conversation is cust-7's.
    let good = proof(&secret, "cust-7");
    let (mut ws, refused) =
        identified_visitor(&server, &site_key, json!({"id": "cust-7", "hash": good})).await;
    assert!(refused.is_none(), "{refused:?}");
    assert_eq!(
        conversation_customer(&api, &mut ws, "it's me").await,
        customer_id
    );

    // Rules see the labels.
    api.post(
        "/api/v1/rules",
        json!({"name": "VIPs only", "script": "if visitor.has_label(\"vip\") { show() } else { hide() }"}),
    )
    .await
    .unwrap();
    let conversations = api
        .get(&format!("/api/v1/conversations?customer={customer_id}"))
        .await
        .unwrap()["items"]
        .clone();
    let visitor_id = conversations[0]["visitor_id"].as_str().unwrap().to_string();
    let decided = api
        .get(&format!("/api/v1/visibility/decide?visitor={visitor_id}"))
        .await
        .unwrap();
    assert_eq!(decided["decision"]["visible"], true, "{decided}");
    assert_eq!(
        decided["context"]["visitor"]["customer"]["labels"],
        json!(["vip"]),
        "{decided}"
    );

    // Agents see name, email and labels.
    let conversation = conversations[0]["id"].as_str().unwrap().to_string();
    let (_, cookie) = server.agent_session(&api, "olive", &conversation).await;
    let console = reqwest::Client::new()
        .get(server.url(&format!("/agent/api/customers/{customer_id}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(console.status(), StatusCode::OK);
    let shown: Value = console.json().await.unwrap();
    assert_eq!(shown["firstname"], "Grace");
    assert_eq!(shown["email"], "grace@example.com");
    assert_eq!(shown["labels"], json!(["vip"]));
    ws.close().await;

    // Turning identities off refuses the same proof again.
    let (status, _) = api
        .send(
            "DELETE",
            &format!("/api/v1/sites/{site_id}/identity-secret"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, refused) =
        identified_visitor(&server, &site_key, json!({"id": "cust-7", "hash": good})).await;
    assert_eq!(refused.unwrap()["code"], "identity_refused");
    server.stop().await;
}
