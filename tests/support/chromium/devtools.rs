use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

use super::ChromiumError;

/// How long a command may go unanswered.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// An event Chromium sent (`Fetch.requestPaused`, `Runtime.exceptionThrown`, ...).
#[derive(Debug, Clone)]
pub struct Event {
    /// The event's name.
    pub method: String,
    /// The session (tab) it came from; `None` for the browser's own events.
    pub session_id: Option<String>,
    /// Its parameters.
    pub params: Value,
}

type Reply = Result<Value, ChromiumError>;

/// One DevTools protocol connection to a browser: commands answered by id, events handed to
/// whoever [subscribed](DevTools::subscribe) to them. Cheap to clone; the connection closes
/// when the last clone is dropped.
#[derive(Clone)]
pub struct DevTools {
    shared: Arc<Shared>,
}

struct Shared {
    outgoing: mpsc::UnboundedSender<Message>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Reply>>>,
    subscribers: Mutex<Vec<Subscriber>>,
    next_id: AtomicU64,
}

struct Subscriber {
    method: String,
    session_id: Option<String>,
    sender: mpsc::UnboundedSender<Event>,
}

impl DevTools {
    /// Connects to the browser's WebSocket (`ws://127.0.0.1:<port>/devtools/browser/<id>`).
    pub async fn connect(url: &str) -> Result<Self, ChromiumError> {
        let (socket, _) =
            tokio_tungstenite::connect_async(url)
                .await
                .map_err(|err| ChromiumError::Connect {
                    url: url.to_owned(),
                    message: err.to_string(),
                })?;
        let (mut sink, mut stream) = socket.split();
        let (outgoing, mut queue) = mpsc::unbounded_channel::<Message>();
        let shared = Arc::new(Shared {
            outgoing,
            pending: Mutex::new(HashMap::new()),
            subscribers: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
        });
        // Ends when every `DevTools` clone is gone (the queue closes) or the socket fails.
        tokio::spawn(async move {
            while let Some(message) = queue.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        // Holds only a weak reference, so that dropping the last clone closes the connection.
        let weak = Arc::downgrade(&shared);
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Some(shared) = weak.upgrade() else { break };
                if let Ok(value) = serde_json::from_str::<Value>(&text) {
                    shared.dispatch(value);
                }
            }
            // Unanswered commands see their sender dropped: `ChromiumError::Closed`.
            if let Some(shared) = Weak::upgrade(&weak) {
                shared.pending.lock().expect("pending lock").clear();
            }
        });
        Ok(Self { shared })
    }

    /// Sends `method` with `params` (to the tab `session_id`, or to the browser) and waits
    /// for its result.
    pub async fn call(
        &self,
        session_id: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, ChromiumError> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let mut command = json!({ "id": id, "method": method, "params": params });
        if let Some(session_id) = session_id {
            command["sessionId"] = json!(session_id);
        }
        let (reply, answer) = oneshot::channel();
        self.shared
            .pending
            .lock()
            .expect("pending lock")
            .insert(id, reply);
        let closed = || ChromiumError::Closed {
            method: method.to_owned(),
        };
        self.shared
            .outgoing
            .send(Message::text(command.to_string()))
            .map_err(|_| closed())?;
        match tokio::time::timeout(COMMAND_TIMEOUT, answer).await {
            Ok(Ok(Ok(result))) => Ok(result),
            Ok(Ok(Err(ChromiumError::Protocol { message, .. }))) => Err(ChromiumError::Protocol {
                method: method.to_owned(),
                message,
            }),
            Ok(Ok(Err(other))) => Err(other),
            Ok(Err(_)) => Err(closed()),
            Err(_) => {
                self.shared
                    .pending
                    .lock()
                    .expect("pending lock")
                    .remove(&id);
                Err(ChromiumError::Timeout {
                    what: format!("DevTools {method}"),
                    after: COMMAND_TIMEOUT,
                    last: "no answer".into(),
                })
            }
        }
    }

    /// Every later event named `method` (from the tab `session_id`, or from anywhere when
    /// `None`). Subscribe before enabling the domain that sends it.
    pub fn subscribe(
        &self,
        session_id: Option<&str>,
        method: &str,
    ) -> mpsc::UnboundedReceiver<Event> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.shared
            .subscribers
            .lock()
            .expect("subscribers lock")
            .push(Subscriber {
                method: method.to_owned(),
                session_id: session_id.map(str::to_owned),
                sender,
            });
        receiver
    }
}

impl Shared {
    /// Routes one message from Chromium: an answer to its command, or an event to its
    /// subscribers.
    fn dispatch(&self, message: Value) {
        if let Some(id) = message["id"].as_u64() {
            let reply = self.pending.lock().expect("pending lock").remove(&id);
            if let Some(reply) = reply {
                let result = match message.get("error") {
                    Some(error) => Err(ChromiumError::Protocol {
                        method: String::new(),
                        message: error.to_string(),
                    }),
                    None => Ok(message["result"].clone()),
                };
                let _ = reply.send(result);
            }
            return;
        }
        let Some(method) = message["method"].as_str() else {
            return;
        };
        let event = Event {
            method: method.to_owned(),
            session_id: message["sessionId"].as_str().map(str::to_owned),
            params: message["params"].clone(),
        };
        let mut subscribers = self.subscribers.lock().expect("subscribers lock");
        subscribers.retain(|s| !s.sender.is_closed());
        for subscriber in subscribers.iter() {
            let session_matches =
                subscriber.session_id.is_none() || subscriber.session_id == event.session_id;
            if subscriber.method == event.method && session_matches {
                let _ = subscriber.sender.send(event.clone());
            }
        }
    }
}
