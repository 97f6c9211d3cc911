use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{ChromiumError, DevTools, Event, keys::Chord};

/// How often [`Page::wait_for`] looks again.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// One tab of a [`DevTools`] browser, attached as its own protocol session. Clones drive
/// the same tab.
#[derive(Clone)]
pub struct Page {
    devtools: DevTools,
    session_id: String,
}

impl Page {
    /// Opens a blank tab with a 1280×800 viewport.
    pub async fn open(devtools: &DevTools) -> Result<Self, ChromiumError> {
        Self::open_sized(devtools, 1280, 800).await
    }

    /// Opens a blank tab with a `width`×`height` CSS-pixel viewport.
    pub async fn open_sized(
        devtools: &DevTools,
        width: u32,
        height: u32,
    ) -> Result<Self, ChromiumError> {
        let target = devtools
            .call(None, "Target.createTarget", json!({ "url": "about:blank" }))
            .await?;
        let attached = devtools
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target["targetId"], "flatten": true }),
            )
            .await?;
        let session_id = attached["sessionId"]
            .as_str()
            .ok_or_else(|| ChromiumError::Protocol {
                method: "Target.attachToTarget".into(),
                message: format!("no sessionId in {attached}"),
            })?
            .to_owned();
        let page = Self {
            devtools: devtools.clone(),
            session_id,
        };
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await?;
        Ok(page)
    }

    /// The browser connection.
    pub fn devtools(&self) -> &DevTools {
        &self.devtools
    }

    /// The protocol session of this tab.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Sends `method` to this tab.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, ChromiumError> {
        self.devtools
            .call(Some(&self.session_id), method, params)
            .await
    }

    /// Every later event named `method` from this tab.
    pub fn subscribe(&self, method: &str) -> mpsc::UnboundedReceiver<Event> {
        self.devtools.subscribe(Some(&self.session_id), method)
    }

    /// Loads `url`; an error when the document itself fails to load.
    pub async fn navigate(&self, url: &str) -> Result<(), ChromiumError> {
        let navigated = self.call("Page.navigate", json!({ "url": url })).await?;
        match navigated["errorText"].as_str() {
            Some(error) if !error.is_empty() => Err(ChromiumError::Protocol {
                method: "Page.navigate".into(),
                message: format!("{url}: {error}"),
            }),
            _ => Ok(()),
        }
    }

    /// The value of the JavaScript `expression` (awaited when it is a promise; as JSON).
    pub async fn evaluate(&self, expression: &str) -> Result<Value, ChromiumError> {
        let evaluated = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await?;
        if let Some(exception) = evaluated.get("exceptionDetails") {
            return Err(ChromiumError::Protocol {
                method: "Runtime.evaluate".into(),
                message: format!("`{expression}` threw: {exception}"),
            });
        }
        Ok(evaluated["result"]["value"].clone())
    }

    /// Evaluates `expression` until it gives something other than `null`, `undefined`,
    /// `false` or `""`, and returns that; a [`ChromiumError::Timeout`] naming `what` (and
    /// the last value) after `timeout`.
    pub async fn wait_for(
        &self,
        what: &str,
        expression: &str,
        timeout: Duration,
    ) -> Result<Value, ChromiumError> {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.evaluate(expression).await?;
            let holds =
                !matches!(&value, Value::Null | Value::Bool(false)) && value.as_str() != Some("");
            if holds {
                return Ok(value);
            }
            if Instant::now() >= deadline {
                return Err(ChromiumError::Timeout {
                    what: what.to_owned(),
                    after: timeout,
                    last: value.to_string(),
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Clicks, with the mouse as a person would, the middle of the element the JavaScript
    /// `element` expression gives (scrolled into view first). An error when there is no such
    /// element or it has no size.
    pub async fn click(&self, element: &str) -> Result<(), ChromiumError> {
        let centre = self
            .evaluate(&format!(
                "(() => {{ const e = ({element}); if (!e) return null; \
                 e.scrollIntoView({{ block: 'center', inline: 'center' }}); \
                 const r = e.getBoundingClientRect(); \
                 return r.width > 0 && r.height > 0 ? [r.x + r.width / 2, r.y + r.height / 2] : null; }})()"
            ))
            .await?;
        let (Some(x), Some(y)) = (centre[0].as_f64(), centre[1].as_f64()) else {
            return Err(ChromiumError::Protocol {
                method: "click".into(),
                message: format!("no visible element for `{element}`"),
            });
        };
        for (kind, buttons) in [("mouseMoved", 0), ("mousePressed", 1), ("mouseReleased", 0)] {
            let button = if kind == "mouseMoved" { "none" } else { "left" };
            self.call(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": button,
                        "buttons": buttons, "clickCount": 1 }),
            )
            .await?;
        }
        Ok(())
    }

    /// Presses and releases `chord` (`"Control+Enter"`, see [`Chord::parse`]) on the
    /// focused element, as a keyboard would.
    pub async fn press(&self, chord: &str) -> Result<(), ChromiumError> {
        let Chord {
            modifiers,
            key,
            code,
            key_code,
        } = Chord::parse(chord)?;
        for kind in ["rawKeyDown", "keyUp"] {
            self.call(
                "Input.dispatchKeyEvent",
                json!({ "type": kind, "modifiers": modifiers, "key": key, "code": code,
                        "windowsVirtualKeyCode": key_code, "nativeVirtualKeyCode": key_code }),
            )
            .await?;
        }
        Ok(())
    }

    /// Enters `text` into the focused element at once, as pasting or an input method does
    /// (no key events, so editors do not auto-close brackets).
    pub async fn insert_text(&self, text: &str) -> Result<(), ChromiumError> {
        self.call("Input.insertText", json!({ "text": text }))
            .await
            .map(drop)
    }

    /// A PNG screenshot of the viewport.
    pub async fn screenshot_png(&self) -> Result<Vec<u8>, ChromiumError> {
        let shot = self
            .call("Page.captureScreenshot", json!({ "format": "png" }))
            .await?;
        let data = shot["data"].as_str().unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|err| ChromiumError::Protocol {
                method: "Page.captureScreenshot".into(),
                message: format!("the image is not base64: {err}"),
            })
    }
}
