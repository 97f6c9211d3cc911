//! loader-core outside GraphQL: a plain axum REST handler whose customer lookups are batched.
//!
//! Run: `cargo run -p loader-core --example rest`, then in another terminal
//!
//! ```text
//! curl http://127.0.0.1:3000/orders/7
//! for i in $(seq 1 40); do curl -s http://127.0.0.1:3000/orders/$i & done; wait
//! curl http://127.0.0.1:3000/stats
//! ```
//!
//! `GET /orders/{id}` returns an order with its customer. The customers live in another
//! service (here an in-memory one that counts its calls and takes a few milliseconds per
//! call, like a network hop): each handler asks a [`Loader`] for one customer, and the
//! engine gathers the customers that concurrent requests ask for into one `get_many` call,
//! under a concurrency limit that adapts to the service. `GET /stats` shows how many calls
//! the service got for how many requests.
//!
//! Copy this file to start: the three parts to keep are the [`BatchFn`] over the service
//! (`CustomersById`), one [`Engine`] in the router's state, and in each handler
//! [`Engine::admit_request`] (a `503` with `Retry-After` when the service is saturated) and
//! [`RequestScope::loader`](loader_core::RequestScope::loader).
//!
//! `cargo test -p loader-core --example rest` starts the router on a free port, sends
//! concurrent requests, and checks that the lookups were batched.

use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
    routing::get,
};
use loader_core::{BatchFn, Engine, LoadError, Loader, QueryGroup};
use serde::Serialize;

/// A customer, as the customer service returns it.
#[derive(Debug, Clone, Serialize)]
struct Customer {
    id: u64,
    name: String,
}

/// An order of this service's own data.
#[derive(Debug, Clone, Serialize)]
struct Order {
    id: u64,
    customer_id: u64,
    total_cents: u64,
}

/// What `GET /orders/{id}` returns.
#[derive(Debug, Serialize)]
struct OrderWithCustomer {
    #[serde(flatten)]
    order: Order,
    customer: Option<Customer>,
}

/// The other service: one call answers many ids, and costs a round trip whatever their
/// number. It counts its calls so the batching can be seen.
#[derive(Debug, Default)]
struct CustomerService {
    calls: AtomicU64,
    ids_asked: AtomicU64,
}

impl CustomerService {
    async fn get_many(&self, ids: &[u64]) -> HashMap<u64, Customer> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.ids_asked
            .fetch_add(ids.len() as u64, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(5)).await; // the round trip
        ids.iter()
            .filter(|id| **id % 100 != 0) // customers 100, 200, ... do not exist
            .map(|id| {
                let customer = Customer {
                    id: *id,
                    name: format!("customer {id}"),
                };
                (*id, customer)
            })
            .collect()
    }
}

/// Customers by id, through the service: what the engine calls with a batch of ids.
struct CustomersById(Arc<CustomerService>);

impl BatchFn for CustomersById {
    type Key = u64;
    type Value = Customer;
    type Error = Infallible;

    fn group(&self) -> QueryGroup {
        QueryGroup::new("customers.by_id")
    }

    async fn load(&self, ids: &[u64]) -> Result<HashMap<u64, Customer>, Infallible> {
        Ok(self.0.get_many(ids).await)
    }
}

/// The router's state: one engine for the customer service, shared by every request.
#[derive(Clone)]
struct AppState {
    engine: Engine,
    customers: Arc<CustomersById>,
    service: Arc<CustomerService>,
    orders: Arc<HashMap<u64, Order>>,
    requests: Arc<AtomicU64>,
}

impl AppState {
    fn new(engine: Engine) -> Self {
        let service = Arc::new(CustomerService::default());
        // Orders `2n - 1` and `2n` belong to customer `n`.
        let orders = (1..=1000)
            .map(|id| {
                let order = Order {
                    id,
                    customer_id: id.div_ceil(2),
                    total_cents: 100 * id,
                };
                (id, order)
            })
            .collect();
        Self {
            engine,
            customers: Arc::new(CustomersById(service.clone())),
            service,
            orders: Arc::new(orders),
            requests: Arc::default(),
        }
    }
}

fn app(state: AppState) -> Router {
    Router::new()
        .route("/orders/{id}", get(get_order))
        .route("/stats", get(stats))
        .with_state(state)
}

/// `GET /orders/{id}`: the order and its customer.
async fn get_order(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<Json<OrderWithCustomer>, AppError> {
    // A place at the engine's door first: a saturated service refuses the request here,
    // before it did anything, and the loads of an admitted request are never refused.
    let request = state.engine.admit_request().await?;
    state.requests.fetch_add(1, Ordering::Relaxed);
    let customers: Loader<CustomersById> = request.loader_shared(state.customers.clone());

    let order = state.orders.get(&id).cloned().ok_or(AppError::NotFound)?;
    let customer = customers.load(order.customer_id).await?;
    Ok(Json(OrderWithCustomer { order, customer }))
}

#[derive(Debug, Serialize)]
struct Stats {
    service_calls: u64,
    customers_asked: u64,
    requests_admitted: u64,
    concurrency_limit: usize,
}

/// `GET /stats`: what the customer service saw.
async fn stats(State(state): State<AppState>) -> Json<Stats> {
    let snapshot = state.engine.snapshot();
    Json(Stats {
        service_calls: state.service.calls.load(Ordering::Relaxed),
        customers_asked: state.service.ids_asked.load(Ordering::Relaxed),
        requests_admitted: state.requests.load(Ordering::Relaxed),
        concurrency_limit: snapshot.limit,
    })
}

/// The handler's errors, with their HTTP status.
#[derive(Debug)]
enum AppError {
    NotFound,
    Load(LoadError),
}

impl From<LoadError> for AppError {
    fn from(error: LoadError) -> Self {
        Self::Load(error)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "no such order").into_response(),
            // Refused before it ran: the client may retry after the hint.
            AppError::Load(LoadError::Overloaded { retry_after, .. }) => {
                let seconds = retry_after.as_secs().max(1).to_string();
                let mut response =
                    (StatusCode::SERVICE_UNAVAILABLE, "overloaded, retry later").into_response();
                if let Ok(value) = HeaderValue::from_str(&seconds) {
                    response.headers_mut().insert(RETRY_AFTER, value);
                }
                response
            }
            AppError::Load(error) => {
                tracing::error!(%error, "customer lookup failed");
                (StatusCode::BAD_GATEWAY, "the customer service failed").into_response()
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One engine per downstream service, shared by every request. Its defaults suit a
    // service like this one: batches are sized from the learned cost of a call (fixed round
    // trip + per id) to stay under `target_response_time`, 25 ms.
    let engine = Engine::builder().build()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    println!("try: curl http://127.0.0.1:3000/orders/7");
    axum::serve(listener, app(AppState::new(engine))).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The router on a free port of the loopback interface.
    async fn spawn_app(state: AppState) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app(state)).await.unwrap() });
        address
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_customer_lookups() {
        let engine = Engine::builder().build().unwrap();
        let state = AppState::new(engine);
        let service = state.service.clone();
        let address = spawn_app(state).await;
        let client = reqwest::Client::new();

        let requests = 60u64;
        let responses = futures::future::join_all((1..=requests).map(|id| {
            let (client, address) = (client.clone(), address.clone());
            async move {
                let response = client
                    .get(format!("{address}/orders/{id}"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK, "order {id}");
                response.json::<serde_json::Value>().await.unwrap()
            }
        }))
        .await;

        for (id, body) in (1..=requests).zip(&responses) {
            assert_eq!(body["id"], id);
            assert_eq!(
                body["customer"]["name"],
                format!("customer {}", id.div_ceil(2))
            );
        }
        // 30 customers for 60 orders: one call per request would be 60 calls, one per
        // customer 30; requests that arrive together share calls, so there are fewer.
        let calls = service.calls.load(Ordering::Relaxed);
        assert!(
            calls < requests * 3 / 4,
            "{requests} requests made {calls} calls to the customer service"
        );
    }

    #[tokio::test]
    async fn an_unknown_order_is_404_and_a_missing_customer_is_null() {
        let address = spawn_app(AppState::new(Engine::builder().build().unwrap())).await;
        let client = reqwest::Client::new();
        let missing = client.get(format!("{address}/orders/5000")).send().await;
        assert_eq!(missing.unwrap().status(), StatusCode::NOT_FOUND);
        // Order 200 belongs to customer 100, which the service does not know.
        let body: serde_json::Value = client
            .get(format!("{address}/orders/200"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["customer_id"], 100);
        assert!(body["customer"].is_null());
    }

    #[tokio::test]
    async fn a_saturated_door_answers_503_with_retry_after() {
        let engine = Engine::builder()
            .max_requests(2)
            .max_requests_waiting(0)
            .build()
            .unwrap();
        let address = spawn_app(AppState::new(engine.clone())).await;
        // Two requests hold every place at the door.
        let held = (engine.admit_request().await, engine.admit_request().await);
        let response = reqwest::get(format!("{address}/orders/1")).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(RETRY_AFTER));
        drop(held);
        let response = reqwest::get(format!("{address}/orders/1")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}
