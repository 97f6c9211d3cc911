//! `--loader`: the same schema through the engine (adaptive, fixed), async-graphql's
//! `DataLoader` and no loader at all returns the same data; only the statement count differs.

use server::{graphql::LoaderMode, seed::SeedPlan};

use crate::{
    app::{Backend, spawn_app_with},
    on_both_backends,
};

const NESTED: &str = "{ users(first: 20) { name posts(first: 5) { title comments(first: 3) { body author { name } } tags { name } } following(first: 3) { name } } }";

async fn every_loader_mode_returns_the_same_data(backend: Backend, test: &str) {
    let modes = ["adaptive", "fixed:4", "async-graphql", "none"];
    let mut reference = None;
    for mode in modes {
        let mode: LoaderMode = mode.parse().unwrap();
        let Some(app) = spawn_app_with(backend, SeedPlan::demo(11), test, |s| {
            s.loader_mode = mode;
        })
        .await
        else {
            return;
        };
        app.counter.reset();
        let data = app.data(NESTED).await;
        let statements = app.counter.count();
        eprintln!("{backend:?} --loader {mode}: {statements} SQL statements");
        match mode {
            // users, posts, comments, comment authors, tags, following.
            LoaderMode::PerRow => assert!(statements > 100, "{mode}: {statements}"),
            _ => assert_eq!(statements, 6, "{mode}: {:#?}", app.counter.statements()),
        }
        match &reference {
            None => reference = Some(data),
            Some(expected) => assert_eq!(&data, expected, "{mode} returns other data"),
        }
        app.stop().await;
    }
}

on_both_backends!(every_loader_mode_returns_the_same_data);
