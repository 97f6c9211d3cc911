//! [`SchemaDescription`]: `__schema { description }` answers the schema's description
//! (this schema has none: `null`), as the GraphQL specification says.
//!
//! async-graphql 7 answers it with the description of the `__Schema` type itself ("A
//! GraphQL Schema defines the capabilities of a GraphQL server..."), so every tool that asks
//! for it (graphql-js's `getIntrospectionQuery({ schemaDescription: true })`) would print
//! that text as this schema's description: the schema it rebuilt would differ from
//! `schema/schema.graphql`.

use std::sync::Arc;

use async_graphql::{
    ServerResult, Value,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo},
};

/// The extension factory; add it with `SchemaBuilder::extension(SchemaDescription)`.
pub struct SchemaDescription;

impl ExtensionFactory for SchemaDescription {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SchemaDescription)
    }
}

#[async_trait::async_trait]
impl Extension for SchemaDescription {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.is_for_introspection && info.parent_type == "__Schema" && info.name == "description"
        {
            return Ok(Some(Value::Null));
        }
        next.run(ctx, info).await
    }
}
