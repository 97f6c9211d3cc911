//! Queries: pagination, filters, relations.

use serde_json::{Value, json};

use crate::helpers::test_app;

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn users_page_through_with_cursors() {
    let app = test_app().await;
    let first = app.data("{ users(first: 5) { id cursor } }").await;
    assert_eq!(ids(&first["users"]), [1, 2, 3, 4, 5]);
    let cursor = first["users"][4]["cursor"].as_str().unwrap().to_string();
    let reply = app
        .graphql(
            "query($after: String) { users(first: 5, after: $after) { id } }",
            json!({ "after": cursor }),
        )
        .await;
    assert_eq!(ids(&reply.json()["data"]["users"]), [6, 7, 8, 9, 10]);
}

#[tokio::test]
async fn posts_come_newest_id_first_and_page_through() {
    let app = test_app().await;
    let first = app.data("{ posts(first: 3) { id cursor } }").await;
    assert_eq!(ids(&first["posts"]), [40, 39, 38]);
    let cursor = first["posts"][2]["cursor"].as_str().unwrap().to_string();
    let reply = app
        .graphql(
            "query($after: String) { posts(first: 2, after: $after) { id } }",
            json!({ "after": cursor }),
        )
        .await;
    assert_eq!(ids(&reply.json()["data"]["posts"]), [37, 36]);
}

#[tokio::test]
async fn posts_filtered_by_tag_all_carry_the_tag() {
    let app = test_app().await;
    let data = app
        .data("{ posts(first: 100, tag: \"rust\") { id tags { name } } }")
        .await;
    let posts = data["posts"].as_array().unwrap();
    assert!(!posts.is_empty(), "the seed tags some posts with rust");
    for post in posts {
        let names: Vec<&str> = post["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"rust"), "{post}");
    }
    let tag = app
        .data("{ tag(name: \"rust\") { posts(first: 100) { id } } }")
        .await;
    let mut by_tag = ids(&tag["tag"]["posts"]);
    let mut filtered = ids(&data["posts"]);
    by_tag.sort_unstable();
    filtered.sort_unstable();
    assert_eq!(by_tag, filtered, "Tag.posts and posts(tag:) agree");
}

#[tokio::test]
async fn unknown_tag_filter_gives_no_posts() {
    let app = test_app().await;
    let data = app
        .data("{ posts(tag: \"no-such-tag\") { id } tag(name: \"no-such-tag\") { id } }")
        .await;
    assert_eq!(data["posts"], json!([]));
    assert!(data["tag"].is_null());
}

#[tokio::test]
async fn per_parent_limit_applies_to_each_parent() {
    let app = test_app().await;
    let data = app
        .data("{ users(first: 12) { id posts(first: 2) { id } all: posts(first: 100) { id } } }")
        .await;
    let mut some_have_more = false;
    for user in data["users"].as_array().unwrap() {
        let two = ids(&user["posts"]);
        let all = ids(&user["all"]);
        assert_eq!(two.len(), all.len().min(2), "{user}");
        assert_eq!(
            two[..],
            all[..two.len()],
            "the first two are the newest two"
        );
        some_have_more |= all.len() > 2;
    }
    assert!(
        some_have_more,
        "the seed gives some user more than two posts"
    );
}

#[tokio::test]
async fn followers_and_following_mirror_each_other() {
    let app = test_app().await;
    let data = app
        .data(
            "{ users(first: 12) { id followers(first: 100) { id } following(first: 100) { id } } }",
        )
        .await;
    let users = data["users"].as_array().unwrap();
    let mut edges = 0;
    for user in users {
        let me: i64 = user["id"].as_str().unwrap().parse().unwrap();
        for followee in ids(&user["following"]) {
            edges += 1;
            let other = users
                .iter()
                .find(|u| u["id"] == json!(followee.to_string()))
                .unwrap();
            assert!(ids(&other["followers"]).contains(&me));
        }
    }
    assert_eq!(edges, 30, "the small seed has 30 follows");
}

#[tokio::test]
async fn comment_knows_its_post_and_author() {
    let app = test_app().await;
    let data = app
        .data("{ post(id: \"1\") { id comments(first: 3) { post { id } author { id } } } }")
        .await;
    for comment in data["post"]["comments"].as_array().unwrap() {
        assert_eq!(comment["post"]["id"], "1");
        assert!(comment["author"]["id"].is_string());
    }
}

#[tokio::test]
async fn first_zero_gives_empty_lists() {
    let app = test_app().await;
    let data = app
        .data("{ users(first: 0) { id } user(id: \"1\") { posts(first: 0) { id } } }")
        .await;
    assert_eq!(data["users"], json!([]));
    assert_eq!(data["user"]["posts"], json!([]));
}
