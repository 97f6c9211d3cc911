//! [`overhead_mix`]: the queries of a `bench-overhead` run, with random ids drawn from the
//! demo data's ranges.

use server::seed::SeedPlan;

use crate::{
    BenchError,
    load::{MixQuery, QueryMix},
};

/// The mix named by `--mix`:
///
/// - `builtin`: the load driver's built-in nested forum queries (several relation levels
///   per request, so batching matters as much as the engine's own cost);
/// - `tiny`: one post by id and its author: one load per request, the engine's cost per
///   load as bare as the schema allows;
/// - anything else: a TOML mix file, used as written.
///
/// ```
/// use bench::overhead::overhead_mix;
/// use server::seed::SeedPlan;
///
/// let mix = overhead_mix("tiny", &SeedPlan::demo(42)).unwrap();
/// assert_eq!(mix.queries.len(), 1);
/// assert_eq!(mix.id_ranges["post"], 3_000);
/// ```
pub fn overhead_mix(spec: &str, demo: &SeedPlan) -> Result<QueryMix, BenchError> {
    let mix = match spec {
        "builtin" => QueryMix::builtin(),
        "tiny" => QueryMix {
            id_ranges: Default::default(),
            queries: vec![MixQuery {
                name: "post-author".into(),
                weight: 1,
                query: "query PostAuthor($id: ID!) { post(id: $id) { title author { name } } }"
                    .into(),
                variables: Default::default(),
                random_ids: [("id".to_string(), "post".to_string())].into(),
            }],
        },
        path => return QueryMix::load(path),
    };
    let mix = mix
        .with_id_range("user", demo.users)
        .with_id_range("post", demo.posts);
    mix.validate()?;
    Ok(mix)
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};

    use super::*;

    #[test]
    fn named_mixes_draw_ids_inside_the_demo_data() {
        let demo = SeedPlan::demo(42);
        for spec in ["builtin", "tiny"] {
            let mix = overhead_mix(spec, &demo).unwrap();
            let mut rng = StdRng::seed_from_u64(5);
            for _ in 0..500 {
                let (_, body) = mix.pick(&mut rng);
                for (var, kind) in &mix.queries[0].random_ids {
                    if let Some(id) = body["variables"][var].as_str() {
                        let id: u64 = id.parse().unwrap();
                        let max = if kind == "user" {
                            demo.users
                        } else {
                            demo.posts
                        };
                        assert!((1..=max).contains(&id), "{spec}: {kind} {id}");
                    }
                }
            }
        }
    }

    #[test]
    fn other_names_are_mix_files() {
        let err = overhead_mix("/nonexistent/mix.toml", &SeedPlan::demo(42)).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/mix.toml"), "{err}");
    }
}
