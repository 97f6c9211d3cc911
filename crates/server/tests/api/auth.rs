//! Identity: bearer tokens are verified before anything runs, every mutation acts as the
//! token's user (no input can name another), and every refused request leaves each table's
//! row count unchanged.

use std::path::PathBuf;

use axum::http::{StatusCode, header};
use entity::{comment, follow, post, post_tag, tag, user};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use server::config::Settings;

use crate::helpers::{Reply, TestApp, test_app, test_app_with};

const READ: &str = r#"{ user(id: "1") { name } }"#;
const WRITE: &str = r#"mutation { createPost(input: {title: "t", body: "b"}) { id } }"#;

/// Every mutation of the schema, each writing something when allowed.
const MUTATIONS: &[&str] = &[
    r#"mutation { createUser(input: {name: "Eve", email: "eve@example.org"}) { id } }"#,
    r#"mutation { createPost(input: {title: "t", body: "b", tags: ["new-tag"]}) { id } }"#,
    r#"mutation { addComment(input: {postId: "1", body: "b"}) { id } }"#,
    r#"mutation { follow(followeeId: "9") { id } }"#,
    r#"mutation { tagPost(postId: "1", tag: "new-tag") { id } }"#,
];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/jwt")
        .join(name)
}

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

/// Claims of a good token for `sub`, valid for an hour.
fn claims(sub: &str) -> Value {
    json!({ "sub": sub, "iat": now(), "exp": now() + 3_600 })
}

fn sign(alg: Algorithm, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, key).unwrap()
}

/// The signing key of an app on a shared secret (the test settings' random one).
fn app_key(app: &TestApp) -> EncodingKey {
    let secret = app.state.settings.auth.jwt_secret.as_ref().unwrap();
    EncodingKey::from_secret(secret.expose()).unwrap()
}

/// A JWS with `alg: none` and no signature.
fn unsigned(claims: &Value) -> String {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.")
}

async fn row_counts(db: &DatabaseConnection) -> [u64; 6] {
    [
        user::Entity::find().count(db).await.unwrap(),
        post::Entity::find().count(db).await.unwrap(),
        comment::Entity::find().count(db).await.unwrap(),
        tag::Entity::find().count(db).await.unwrap(),
        post_tag::Entity::find().count(db).await.unwrap(),
        follow::Entity::find().count(db).await.unwrap(),
    ]
}

fn challenge(reply: &Reply) -> &str {
    reply
        .headers
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// `authorization` is refused with `reason` for a read and for a write alike: `401`, a
/// `Bearer` challenge saying `invalid_token` (or `invalid_request`), code `INVALID_TOKEN`,
/// no `data`, and no row changed.
async fn assert_refused(app: &TestApp, case: &str, authorization: &str, reason: &str) {
    let before = row_counts(&app.state.db).await;
    for query in [READ, WRITE] {
        let reply = app
            .graphql_auth(Some(authorization), query, Value::Null)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{case}: {}",
            reply.text
        );
        assert_eq!(
            reply.error_codes(),
            ["INVALID_TOKEN"],
            "{case}: {}",
            reply.text
        );
        let body = reply.json();
        assert_eq!(body["errors"][0]["extensions"]["reason"], reason, "{case}");
        assert!(body.get("data").is_none(), "{case}: {}", reply.text);
        let challenge = challenge(&reply);
        let error = if reason == "bad_header" {
            "invalid_request"
        } else {
            "invalid_token"
        };
        assert!(
            challenge.starts_with("Bearer realm=\"adaptive-graphql\"")
                && challenge.contains(&format!("error=\"{error}\"")),
            "{case}: {challenge}"
        );
    }
    assert_eq!(
        row_counts(&app.state.db).await,
        before,
        "{case}: rows changed"
    );
}

async fn assert_accepted(app: &TestApp, case: &str, token: &str) {
    let reply = app
        .graphql_auth(Some(&format!("Bearer {token}")), READ, Value::Null)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{case}: {}", reply.text);
    assert!(
        reply.json().get("errors").is_none(),
        "{case}: {}",
        reply.text
    );
}

#[tokio::test]
async fn reads_are_open_and_mutations_without_a_token_are_401_unauthenticated() {
    let app = test_app().await;
    assert_eq!(app.graphql(READ, Value::Null).await.status, StatusCode::OK);
    let before = row_counts(&app.state.db).await;
    for mutation in MUTATIONS {
        for accept in ["application/graphql-response+json", "application/json"] {
            let body = json!({ "query": mutation }).to_string();
            let reply = app.post_raw(body, Some(accept)).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{mutation}: {}",
                reply.text
            );
            assert_eq!(reply.error_codes(), ["UNAUTHENTICATED"], "{mutation}");
            assert_eq!(challenge(&reply), "Bearer realm=\"adaptive-graphql\"");
            assert!(
                reply.text.contains("Authorization: Bearer"),
                "{}",
                reply.text
            );
        }
    }
    assert_eq!(
        row_counts(&app.state.db).await,
        before,
        "an anonymous write landed"
    );
}

#[tokio::test]
async fn every_mutation_succeeds_with_a_token() {
    let app = test_app().await;
    let own = post::Entity::find()
        .filter(post::Column::AuthorId.eq(4))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    for mutation in MUTATIONS {
        let mutation = mutation.replace("postId: \"1\", tag", &format!("postId: \"{own}\", tag"));
        app.data_as(4, &mutation).await;
    }
}

#[tokio::test]
async fn inputs_cannot_name_the_author_or_the_follower() {
    let app = test_app().await;
    let before = row_counts(&app.state.db).await;
    let attempts = [
        (
            r#"mutation { createPost(input: {authorId: "1", title: "t", body: "b"}) { id } }"#,
            Value::Null,
            "authorId",
        ),
        (
            r#"mutation { addComment(input: {postId: "1", authorId: "1", body: "b"}) { id } }"#,
            Value::Null,
            "authorId",
        ),
        (
            r#"mutation { follow(followerId: "1", followeeId: "3") { id } }"#,
            Value::Null,
            "followerId",
        ),
        (
            "mutation($i: CreatePostInput!) { createPost(input: $i) { id } }",
            json!({ "i": { "authorId": "1", "title": "t", "body": "b" } }),
            "authorId",
        ),
        (
            "mutation($i: AddCommentInput!) { addComment(input: $i) { id } }",
            json!({ "i": { "postId": "1", "authorId": "1", "body": "b" } }),
            "authorId",
        ),
    ];
    for (mutation, variables, field) in attempts {
        let reply = app.graphql_as(2, mutation, variables).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{mutation}: {}",
            reply.text
        );
        assert_eq!(
            reply.error_codes(),
            ["GRAPHQL_VALIDATION_FAILED"],
            "{mutation}"
        );
        assert!(reply.text.contains(field), "{mutation}: {}", reply.text);
    }
    assert_eq!(row_counts(&app.state.db).await, before);
}

#[tokio::test]
async fn writes_are_attributed_to_the_token_user() {
    let app = test_app().await;
    let data = app
        .data_as(
            7,
            r#"mutation {
                post: createPost(input: {title: "mine", body: "b"}) { id author { id } }
                comment: addComment(input: {postId: "1", body: "by seven"}) { id author { id } }
                follow: follow(followeeId: "8") { id }
            }"#,
        )
        .await;
    assert_eq!(data["post"]["author"]["id"], "7");
    assert_eq!(data["comment"]["author"]["id"], "7");
    assert_eq!(data["follow"]["id"], "7");
    let db = &app.state.db;
    let post_id: i64 = data["post"]["id"].as_str().unwrap().parse().unwrap();
    let stored = post::Entity::find_by_id(post_id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.author_id, 7);
    let comment_id: i64 = data["comment"]["id"].as_str().unwrap().parse().unwrap();
    let stored = comment::Entity::find_by_id(comment_id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.author_id, 7);
    let follows = follow::Entity::find()
        .filter(follow::Column::FollowerId.eq(7))
        .filter(follow::Column::FolloweeId.eq(8))
        .count(db)
        .await
        .unwrap();
    assert_eq!(follows, 1);
}

#[tokio::test]
async fn tagging_another_users_post_is_forbidden_and_writes_nothing() {
    let app = test_app().await;
    let theirs = post::Entity::find()
        .filter(post::Column::AuthorId.ne(5))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let before = row_counts(&app.state.db).await;
    let reply = app
        .graphql_as(
            5,
            &format!(
                r#"mutation {{ tagPost(postId: "{}", tag: "hijack") {{ id }} }}"#,
                theirs.id
            ),
            Value::Null,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.error_codes(), ["FORBIDDEN"], "{}", reply.text);
    assert!(reply.text.contains("only its author"), "{}", reply.text);
    assert_eq!(row_counts(&app.state.db).await, before);
}

#[tokio::test]
async fn a_token_for_a_user_that_does_not_exist_writes_nothing() {
    let app = test_app().await;
    let before = row_counts(&app.state.db).await;
    for mutation in MUTATIONS {
        let reply = app.graphql_as(999_999, mutation, Value::Null).await;
        // Tagging someone's post is refused for not being its author.
        let expected = if mutation.contains("tagPost") {
            "FORBIDDEN"
        } else {
            "UNAUTHENTICATED"
        };
        assert_eq!(
            reply.error_codes(),
            [expected],
            "{mutation}: {}",
            reply.text
        );
    }
    assert_eq!(row_counts(&app.state.db).await, before);
}

#[tokio::test]
async fn bad_tokens_are_refused_before_anything_runs() {
    let app = test_app().await;
    let key = app_key(&app);
    let other = EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!").unwrap();
    let rsa = EncodingKey::from_rsa_pem(&pem("rsa-private.pem")).unwrap();
    let good = sign(Algorithm::HS256, &claims("2"), &key);
    // The signature of a token for user 2 on claims naming user 1.
    let (_, signature) = good.rsplit_once('.').unwrap();
    let header = good.split('.').next().unwrap();
    let forged_claims = {
        use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
        URL_SAFE_NO_PAD.encode(claims("1").to_string())
    };
    let forged = format!("{header}.{forged_claims}.{signature}");
    let mut without_sub = claims("2");
    without_sub.as_object_mut().unwrap().remove("sub");
    let mut without_exp = claims("2");
    without_exp.as_object_mut().unwrap().remove("exp");
    let numeric_sub = json!({ "sub": 2, "exp": now() + 3_600 });
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "signed with another secret",
            sign(Algorithm::HS256, &claims("2"), &other),
            "bad_signature",
        ),
        ("claims changed after signing", forged, "bad_signature"),
        ("alg none", unsigned(&claims("2")), "wrong_algorithm"),
        (
            "HS512 with the right secret",
            sign(Algorithm::HS512, &claims("2"), &key),
            "wrong_algorithm",
        ),
        (
            "RS256",
            sign(Algorithm::RS256, &claims("2"), &rsa),
            "wrong_algorithm",
        ),
        (
            "expired an hour ago",
            sign(
                Algorithm::HS256,
                &json!({ "sub": "2", "exp": now() - 3_600 }),
                &key,
            ),
            "expired",
        ),
        (
            "valid from in an hour",
            sign(
                Algorithm::HS256,
                &json!({ "sub": "2", "nbf": now() + 3_600, "exp": now() + 7_200 }),
                &key,
            ),
            "not_yet_valid",
        ),
        (
            "no sub",
            sign(Algorithm::HS256, &without_sub, &key),
            "missing_claim",
        ),
        (
            "no exp",
            sign(Algorithm::HS256, &without_exp, &key),
            "missing_claim",
        ),
        (
            "numeric sub",
            sign(Algorithm::HS256, &numeric_sub, &key),
            "missing_claim",
        ),
        (
            "sub not an id",
            sign(Algorithm::HS256, &claims("alice"), &key),
            "bad_subject",
        ),
        (
            "sub zero",
            sign(Algorithm::HS256, &claims("0"), &key),
            "bad_subject",
        ),
        (
            "sub negative",
            sign(Algorithm::HS256, &claims("-2"), &key),
            "bad_subject",
        ),
        ("garbage", "not-a-jwt".into(), "malformed"),
        ("three garbage parts", "a.b.c".into(), "malformed"),
        ("header not JSON", "bm9wZQ.e30.c2ln".into(), "malformed"),
        ("oversized", "a".repeat(20_000), "malformed"),
    ];
    for (case, token, reason) in &cases {
        assert_refused(&app, case, &format!("Bearer {token}"), reason).await;
    }
    assert_refused(
        &app,
        "basic credentials",
        "Basic YWRtaW46aHVudGVyMg==",
        "bad_header",
    )
    .await;
    assert_refused(&app, "empty bearer", "Bearer ", "bad_header").await;
    // The password of a Basic header is not echoed.
    let reply = app
        .graphql_auth(Some("Basic YWRtaW46aHVudGVyMg=="), READ, Value::Null)
        .await;
    assert!(!reply.text.contains("YWRtaW46"), "{}", reply.text);
    // The untouched token is accepted, and the scheme is case-insensitive.
    assert_accepted(&app, "the good token", &good).await;
    let reply = app
        .graphql_auth(Some(&format!("bearer {good}")), READ, Value::Null)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn exp_and_nbf_are_honoured_within_the_leeway() {
    let app = test_app().await;
    let key = app_key(&app);
    let leeway = app.state.settings.auth.jwt_leeway_secs as i64;
    assert_eq!(leeway, 30);
    let just_expired = json!({ "sub": "2", "exp": now() - leeway / 3 });
    assert_accepted(
        &app,
        "expired within the leeway",
        &sign(Algorithm::HS256, &just_expired, &key),
    )
    .await;
    let almost_valid = json!({ "sub": "2", "nbf": now() + leeway / 3, "exp": now() + 3_600 });
    assert_accepted(
        &app,
        "not yet valid within the leeway",
        &sign(Algorithm::HS256, &almost_valid, &key),
    )
    .await;
    let expired = json!({ "sub": "2", "exp": now() - 2 * leeway });
    assert_refused(
        &app,
        "expired beyond the leeway",
        &format!("Bearer {}", sign(Algorithm::HS256, &expired, &key)),
        "expired",
    )
    .await;
}

async fn rs256_app() -> TestApp {
    test_app_with(|s| {
        s.auth.jwt_secret = None;
        s.auth.jwt_public_key_file = Some(fixture("rsa-public.pem"));
    })
    .await
}

#[tokio::test]
async fn a_public_key_server_accepts_its_issuers_tokens_and_refuses_algorithm_confusion() {
    let app = rs256_app().await;
    assert_eq!(app.state.auth.algorithm(), Algorithm::RS256);
    let private = EncodingKey::from_rsa_pem(&pem("rsa-private.pem")).unwrap();
    let token = sign(Algorithm::RS256, &claims("6"), &private);
    let reply = app
        .graphql_auth(Some(&format!("Bearer {token}")), WRITE, Value::Null)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(reply.json().get("errors").is_none(), "{}", reply.text);

    // HS256 "signed" with the public key's PEM as the secret: the classic confusion.
    let public_as_secret = EncodingKey::from_secret(&pem("rsa-public.pem")).unwrap();
    let confused = sign(Algorithm::HS256, &claims("6"), &public_as_secret);
    assert_refused(
        &app,
        "HS256 keyed with the public key",
        &format!("Bearer {confused}"),
        "wrong_algorithm",
    )
    .await;
    let other = EncodingKey::from_rsa_pem(&pem("rsa-other-private.pem")).unwrap();
    let foreign = sign(Algorithm::RS256, &claims("6"), &other);
    assert_refused(
        &app,
        "another RSA key",
        &format!("Bearer {foreign}"),
        "bad_signature",
    )
    .await;
    let ec = EncodingKey::from_ec_pem(&pem("ec-private.pem")).unwrap();
    let es = sign(Algorithm::ES256, &claims("6"), &ec);
    assert_refused(
        &app,
        "ES256 token",
        &format!("Bearer {es}"),
        "wrong_algorithm",
    )
    .await;
    assert_refused(
        &app,
        "alg none",
        &format!("Bearer {}", unsigned(&claims("6"))),
        "wrong_algorithm",
    )
    .await;

    // The server holds no private key: it cannot mint.
    let err = app
        .state
        .auth
        .mint(6, std::time::Duration::from_secs(60))
        .unwrap_err();
    assert!(err.to_string().contains("only verifies"), "{err}");
}

#[tokio::test]
async fn an_ec_public_key_selects_es256() {
    let app = test_app_with(|s| {
        s.auth.jwt_secret = None;
        s.auth.jwt_public_key_file = Some(fixture("ec-public.pem"));
    })
    .await;
    assert_eq!(app.state.auth.algorithm(), Algorithm::ES256);
    let private = EncodingKey::from_ec_pem(&pem("ec-private.pem")).unwrap();
    let token = app
        .state
        .auth
        .mint_with(&private, 3, std::time::Duration::from_secs(60))
        .unwrap();
    let reply = app
        .graphql_auth(Some(&format!("Bearer {token}")), WRITE, Value::Null)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(reply.json().get("errors").is_none(), "{}", reply.text);
}

#[tokio::test]
async fn issuer_and_audience_are_required_when_configured() {
    let app = test_app_with(|s| {
        s.auth.jwt_issuer = Some("https://id.example.org".into());
        s.auth.jwt_audience = Some("forum".into());
    })
    .await;
    // Minted tokens carry both.
    assert_accepted(&app, "minted", &app.token(2)).await;
    let key = app_key(&app);
    let base = |iss: Option<&str>, aud: Option<&str>| {
        let mut c = claims("2");
        if let Some(iss) = iss {
            c["iss"] = iss.into();
        }
        if let Some(aud) = aud {
            c["aud"] = aud.into();
        }
        format!("Bearer {}", sign(Algorithm::HS256, &c, &key))
    };
    assert_refused(&app, "no iss", &base(None, Some("forum")), "missing_claim").await;
    assert_refused(
        &app,
        "wrong iss",
        &base(Some("https://evil.example"), Some("forum")),
        "wrong_issuer",
    )
    .await;
    assert_refused(
        &app,
        "no aud",
        &base(Some("https://id.example.org"), None),
        "missing_claim",
    )
    .await;
    assert_refused(
        &app,
        "wrong aud",
        &base(Some("https://id.example.org"), Some("shop")),
        "wrong_audience",
    )
    .await;
}

#[tokio::test]
async fn require_auth_closes_reads_too() {
    let app = test_app_with(|s| s.auth.require_auth = true).await;
    let reply = app.graphql(READ, Value::Null).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
    assert_eq!(reply.error_codes(), ["UNAUTHENTICATED"]);
    assert_eq!(challenge(&reply), "Bearer realm=\"adaptive-graphql\"");
    let reply = app
        .get(
            "/graphql?query=%7B%20tags%20%7B%20name%20%7D%20%7D",
            Some("application/json"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
    let reply = app.graphql_as(2, READ, Value::Null).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    // Health stays open for probes.
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
}

#[test]
fn misconfigured_keys_are_refused_at_start_with_the_remedy() {
    let mut cases: Vec<(Settings, &str)> = Vec::new();
    let mut short = Settings::for_database("sqlite::memory:");
    short.auth.jwt_secret = Some(server::auth::Secret::new("too-short"));
    cases.push((short, "at least 32"));
    let mut both = Settings::for_database("sqlite::memory:");
    both.auth.jwt_public_key_file = Some(fixture("rsa-public.pem"));
    cases.push((both, "configure one key"));
    let mut rs_with_secret = Settings::for_database("sqlite::memory:");
    rs_with_secret.auth.jwt_algorithm = Some(server::auth::JwtAlgorithm::Rs256);
    cases.push((rs_with_secret, "JWT_PUBLIC_KEY_FILE"));
    let mut missing = Settings::for_database("sqlite::memory:");
    missing.auth.jwt_secret = None;
    missing.auth.jwt_public_key_file = Some(fixture("nope.pem"));
    cases.push((missing, "nope.pem"));
    let mut not_a_key = Settings::for_database("sqlite::memory:");
    not_a_key.auth.jwt_secret = None;
    not_a_key.auth.jwt_public_key_file = Some(fixture("README.md"));
    cases.push((not_a_key, "no PEM public key"));
    let mut wrong_curve = Settings::for_database("sqlite::memory:");
    wrong_curve.auth.jwt_secret = None;
    wrong_curve.auth.jwt_public_key_file = Some(fixture("ec384-public.pem"));
    wrong_curve.auth.jwt_algorithm = Some(server::auth::JwtAlgorithm::Es256);
    cases.push((wrong_curve, "curve"));
    let mut rsa_as_ec = Settings::for_database("sqlite::memory:");
    rsa_as_ec.auth.jwt_secret = None;
    rsa_as_ec.auth.jwt_public_key_file = Some(fixture("rsa-public.pem"));
    rsa_as_ec.auth.jwt_algorithm = Some(server::auth::JwtAlgorithm::Es256);
    cases.push((rsa_as_ec, "does not fit"));
    for (settings, says) in cases {
        let err = match server::auth::Authenticator::new(&settings.auth, &settings.database_url) {
            Ok(_) => panic!("accepted; expected an error saying `{says}`"),
            Err(err) => format!("{err:#}"),
        };
        assert!(err.contains(says), "expected `{says}` in: {err}");
    }
    let mut p384 = Settings::for_database("sqlite::memory:");
    p384.auth.jwt_secret = None;
    p384.auth.jwt_public_key_file = Some(fixture("ec384-public.pem"));
    let auth = server::auth::Authenticator::new(&p384.auth, &p384.database_url).unwrap();
    assert_eq!(auth.algorithm(), Algorithm::ES384);
}

#[test]
fn without_a_key_the_development_secret_is_created_once_and_announced_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/forum.sqlite?mode=rwc", dir.path().display());
    let mut settings = Settings::for_database(url);
    settings.auth.jwt_secret = None;
    let first = server::auth::Authenticator::new(&settings.auth, &settings.database_url).unwrap();
    let path = dir.path().join("jwt-dev-secret");
    assert!(path.is_file(), "the secret is kept beside the database");
    let secret = std::fs::read_to_string(&path).unwrap();
    let announcement = first.announcement();
    assert!(announcement.contains("DEVELOPMENT"), "{announcement}");
    assert!(
        announcement.contains("server token --user 2"),
        "{announcement}"
    );
    assert!(
        !announcement.contains(secret.trim()),
        "the secret is never printed"
    );
    // A second process (another start, or `server token`) uses the same secret.
    let second = server::auth::Authenticator::new(&settings.auth, &settings.database_url).unwrap();
    let token = second.mint(2, std::time::Duration::from_secs(60)).unwrap();
    assert_eq!(first.verify(&token), Ok(2));
    assert!(second.announcement().contains("kept in"));
}

#[test]
fn a_configured_key_is_announced_as_production() {
    let settings = Settings::for_database("sqlite::memory:");
    let auth = server::auth::Authenticator::new(&settings.auth, &settings.database_url).unwrap();
    let announcement = auth.announcement();
    assert!(announcement.contains("production"), "{announcement}");
    assert!(announcement.contains("JWT_SECRET"), "{announcement}");
    let secret = settings.auth.jwt_secret.as_ref().unwrap().expose();
    assert!(!announcement.contains(std::str::from_utf8(secret).unwrap()));
}
