//! [`DepthLimit`]: the nesting guard, with introspection measured apart from the data.
//!
//! A query over the data types may nest at most `MAX_DEPTH` fields (`--max-depth`): every
//! level of a data query is a database round, so depth is cost. Introspection (`__schema`,
//! `__type`) reads the in-memory schema instead, and the standard introspection query that
//! GraphiQL and every schema-driven tool send (graphql-js's `getIntrospectionQuery()`)
//! nests `ofType` nine levels inside `__schema { types { fields { args { type ...`, 15
//! levels in all. Counting it against `MAX_DEPTH` refused it, so such tools could not load
//! the schema. Here an introspection field counts one level of data depth, and its subtree
//! has bounds of its own that the standard query meets and an abusive one does not:
//!
//! - at most [`MAX_INTROSPECTION_DEPTH`] levels, and
//! - at most [`MAX_INTROSPECTION_LISTS`] list fields along one path (`types > fields >
//!   args` in the standard query): each list multiplies the response, and the types refer
//!   to each other, so `fields { type { ofType { fields { ...` could otherwise grow the
//!   answer geometrically within the depth bound.
//!
//! Fragments are measured once each (memoised), so a document that spreads fragments into
//! each other many times costs its size, not its expansion.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use async_graphql::{
    ServerError, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

/// Levels an introspection field (`__schema`, `__type`) and its subtree may span. The
/// standard introspection query of graphql-js 16 needs 15.
pub const MAX_INTROSPECTION_DEPTH: usize = 16;

/// List-valued introspection fields (`types`, `fields`, `args`, ...) allowed along one path
/// of an introspection subtree. The standard introspection query needs 3.
pub const MAX_INTROSPECTION_LISTS: usize = 3;

/// Fragment spreads that may be nested inside each other (a guard for the recursion that
/// measures them; real documents nest a handful).
const MAX_FRAGMENT_NESTING: usize = 64;

/// The introspection fields that return lists of introspection objects.
const INTROSPECTION_LISTS: [&str; 8] = [
    "types",
    "directives",
    "fields",
    "args",
    "inputFields",
    "interfaces",
    "possibleTypes",
    "enumValues",
];

/// The extension factory; add it with `SchemaBuilder::extension(DepthLimit::new(..))`.
#[derive(Debug, Clone, Copy)]
pub struct DepthLimit {
    max_depth: usize,
}

impl DepthLimit {
    /// Data selections may nest `max_depth` fields deep.
    pub fn new(max_depth: usize) -> Self {
        Self { max_depth }
    }
}

impl ExtensionFactory for DepthLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

#[async_trait::async_trait]
impl Extension for DepthLimit {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        check(&document, self.max_depth)?;
        Ok(document)
    }
}

/// Why a document is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TooDeep {
    Data,
    Introspection,
    IntrospectionLists,
    Fragments,
}

impl TooDeep {
    fn error(self, max_depth: usize) -> ServerError {
        let message = match self {
            // async-graphql's wording, which clients may already match on.
            TooDeep::Data => "Query is nested too deep.".to_string(),
            TooDeep::Introspection => format!(
                "Query is nested too deep: an introspection selection may be at most \
                 {MAX_INTROSPECTION_DEPTH} levels deep (the data types: {max_depth})."
            ),
            TooDeep::IntrospectionLists => format!(
                "Query is nested too deep: an introspection selection may nest at most \
                 {MAX_INTROSPECTION_LISTS} lists (such as `types > fields > args`)."
            ),
            TooDeep::Fragments => format!(
                "Query is nested too deep: fragments may be spread inside each other at \
                 most {MAX_FRAGMENT_NESTING} levels deep."
            ),
        };
        let mut error = ServerError::new(message, None);
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", "GRAPHQL_VALIDATION_FAILED");
        error
    }
}

/// Checks every operation of `document` against the bounds.
fn check(document: &ExecutableDocument, max_depth: usize) -> ServerResult<()> {
    let mut measure = Measure {
        document,
        data: HashMap::new(),
        introspection: HashMap::new(),
        visiting: HashSet::new(),
    };
    let too_deep = |why: TooDeep| why.error(max_depth);
    for (_, operation) in document.operations.iter() {
        let depth = measure
            .data(&operation.node.selection_set.node)
            .map_err(too_deep)?;
        if depth.data > max_depth {
            return Err(too_deep(TooDeep::Data));
        }
        if depth.introspection.levels > MAX_INTROSPECTION_DEPTH {
            return Err(too_deep(TooDeep::Introspection));
        }
        if depth.introspection.lists > MAX_INTROSPECTION_LISTS {
            return Err(too_deep(TooDeep::IntrospectionLists));
        }
    }
    Ok(())
}

/// The depth of an introspection selection: levels, and list fields along one path (each
/// the maximum over the paths).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Introspection {
    levels: usize,
    lists: usize,
}

impl Introspection {
    fn max(self, other: Self) -> Self {
        Self {
            levels: self.levels.max(other.levels),
            lists: self.lists.max(other.lists),
        }
    }
}

/// The depth of a selection over the data types.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Depth {
    /// Fields nested along the deepest path, an introspection field counting one.
    data: usize,
    /// The deepest introspection subtree found in it (measured from its own root).
    introspection: Introspection,
}

/// Measures selection sets, remembering each fragment's measure.
struct Measure<'a> {
    document: &'a ExecutableDocument,
    data: HashMap<&'a str, Depth>,
    introspection: HashMap<&'a str, Introspection>,
    /// The fragments being measured inside each other right now.
    visiting: HashSet<&'a str>,
}

impl<'a> Measure<'a> {
    /// The depth of a selection set over the data types.
    fn data(&mut self, set: &'a SelectionSet) -> Result<Depth, TooDeep> {
        let mut depth = Depth::default();
        for item in &set.items {
            let inner = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let name = field.name.node.as_str();
                    if name == "__schema" || name == "__type" {
                        let below = self.introspection(&field.selection_set.node)?;
                        Depth {
                            data: 1,
                            introspection: Introspection {
                                levels: below.levels + 1,
                                lists: below.lists,
                            },
                        }
                    } else {
                        let below = self.data(&field.selection_set.node)?;
                        Depth {
                            data: below.data + 1,
                            introspection: below.introspection,
                        }
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.data(&fragment.node.selection_set.node)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match self.data.get(name) {
                        Some(known) => *known,
                        None => {
                            let measured = self
                                .fragment(name, |m, set| m.data(set))?
                                .unwrap_or_default();
                            self.data.insert(name, measured);
                            measured
                        }
                    }
                }
            };
            depth = Depth {
                data: depth.data.max(inner.data),
                introspection: depth.introspection.max(inner.introspection),
            };
        }
        Ok(depth)
    }

    /// The depth of a selection set inside an introspection field.
    fn introspection(&mut self, set: &'a SelectionSet) -> Result<Introspection, TooDeep> {
        let mut depth = Introspection::default();
        for item in &set.items {
            let inner = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let below = self.introspection(&field.selection_set.node)?;
                    let list = INTROSPECTION_LISTS.contains(&field.name.node.as_str());
                    Introspection {
                        levels: below.levels + 1,
                        lists: below.lists + usize::from(list),
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.introspection(&fragment.node.selection_set.node)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match self.introspection.get(name) {
                        Some(known) => *known,
                        None => {
                            let measured = self
                                .fragment(name, |m, set| m.introspection(set))?
                                .unwrap_or_default();
                            self.introspection.insert(name, measured);
                            measured
                        }
                    }
                }
            };
            depth = depth.max(inner);
        }
        Ok(depth)
    }

    /// Measures fragment `name` with `measure`; `None` for an unknown fragment (validation
    /// reports it). A fragment that spreads itself is cut at the repeat (validation refuses
    /// the cycle).
    fn fragment<T>(
        &mut self,
        name: &str,
        measure: impl FnOnce(&mut Self, &'a SelectionSet) -> Result<T, TooDeep>,
    ) -> Result<Option<T>, TooDeep> {
        let Some((name, fragment)) = self.document.fragments.get_key_value(name) else {
            return Ok(None);
        };
        let name = name.as_str();
        if self.visiting.contains(name) {
            return Ok(None);
        }
        if self.visiting.len() >= MAX_FRAGMENT_NESTING {
            return Err(TooDeep::Fragments);
        }
        self.visiting.insert(name);
        let measured = measure(self, &fragment.node.selection_set.node);
        self.visiting.remove(name);
        measured.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn checked(query: &str, max_depth: usize) -> Result<(), String> {
        let document = parse_query(query).expect("valid syntax");
        check(&document, max_depth).map_err(|e| e.message)
    }

    /// `{ a { a { ... { id } } } }` with `levels` fields in all.
    fn nested(levels: usize) -> String {
        format!(
            "{{ {} id {} }}",
            "a { ".repeat(levels - 1),
            "}".repeat(levels - 1)
        )
    }

    #[test]
    fn data_depth_counts_fields_like_async_graphql() {
        assert!(checked(&nested(12), 12).is_ok());
        assert_eq!(
            checked(&nested(13), 12).unwrap_err(),
            "Query is nested too deep."
        );
    }

    #[test]
    fn fragments_count_where_they_are_spread() {
        let query = "{ a { a { ...F } } } fragment F on A { a { a { id } } }";
        assert!(checked(query, 5).is_ok());
        assert!(checked(query, 4).is_err());
        let inline = "{ a { ... on A { a { id } } } }";
        assert!(checked(inline, 3).is_ok());
        assert!(checked(inline, 2).is_err());
    }

    #[test]
    fn the_standard_introspection_query_passes_a_small_data_limit() {
        let query = include_str!("../../../../tests/fixtures/introspection/all-options.graphql");
        assert!(checked(query, 12).is_ok());
        assert!(
            checked(query, 2).is_ok(),
            "introspection counts 1 data level"
        );
        assert!(checked(query, 0).is_err());
    }

    #[test]
    fn introspection_beside_data_fields_still_bounds_the_data() {
        // `{ __schema { ... } a { a { ... id } } }`: the data part 13 levels deep.
        let query = format!("{{ __schema {{ types {{ name }} }} {}", &nested(13)[1..]);
        assert!(checked(&query, 12).is_err());
        assert!(checked(&query, 13).is_ok());
    }

    #[test]
    fn deep_introspection_is_refused() {
        let chain = |n: usize| {
            format!(
                "{{ __type(name: \"User\") {{ {} name {} }} }}",
                "ofType { ".repeat(n),
                "}".repeat(n)
            )
        };
        assert!(checked(&chain(MAX_INTROSPECTION_DEPTH - 2), 12).is_ok());
        let refused = checked(&chain(MAX_INTROSPECTION_DEPTH - 1), 12).unwrap_err();
        assert!(refused.contains("introspection"), "{refused}");
    }

    #[test]
    fn introspection_that_multiplies_lists_is_refused() {
        // types > fields > fields > args: four lists.
        let query =
            "{ __schema { types { fields { type { ofType { fields { args { name } } } } } } } }";
        let refused = checked(query, 12).unwrap_err();
        assert!(refused.contains("at most 3 lists"), "{refused}");
        let through_fragments = "{ __schema { types { ...T } } } \
            fragment T on __Type { fields { type { ...U } } } \
            fragment U on __Type { ofType { enumValues { name } } }";
        assert!(checked(through_fragments, 12).is_ok(), "3 lists");
        let four = through_fragments.replace("enumValues { name }", "fields { args { name } }");
        assert!(checked(&four, 12).is_err());
    }

    #[test]
    fn fragment_bombs_are_measured_once_per_fragment() {
        // F0 spreads F1 twice, F1 spreads F2 twice, ...: 2^40 fields once expanded.
        let mut query = String::from("{ ...F0 }");
        for i in 0..40 {
            query.push_str(&format!(
                " fragment F{i} on Query {{ a: x {{ ...F{n} }} b: x {{ ...F{n} }} }}",
                n = i + 1
            ));
        }
        query.push_str(" fragment F40 on Query { id }");
        let started = std::time::Instant::now();
        assert!(checked(&query, 12).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn a_fragment_cycle_does_not_hang() {
        let query = "{ ...A } fragment A on Query { x { ...B } } fragment B on X { y { ...A } }";
        assert!(checked(query, 12).is_ok(), "validation reports the cycle");
    }

    #[test]
    fn fragments_nested_past_the_guard_are_refused() {
        let mut query = String::from("{ ...F0 }");
        for i in 0..100 {
            query.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
        }
        query.push_str(" fragment F100 on Query { id }");
        let refused = checked(&query, 12).unwrap_err();
        assert!(refused.contains("fragments"), "{refused}");
    }
}
