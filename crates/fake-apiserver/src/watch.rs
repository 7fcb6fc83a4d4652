//! `?watch=true`: newline-delimited JSON `WatchEvent`s, resumable from a resourceVersion.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::{Change, ChangeType, WatchMsg};
use crate::types::ResourceInfo;
use crate::{Inner, ResponseBody};

pub(crate) struct WatchFilter {
    pub info: ResourceInfo,
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl WatchFilter {
    fn matches(&self, obj: &Value) -> bool {
        self.namespace.as_ref().is_none_or(|ns| {
            obj.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns.as_str())
        }) && self.labels.matches(obj)
            && self.fields.matches(obj)
    }

    /// What a watcher with this filter sees of a change (objects moving out of the
    /// selector are reported as DELETED, moving in as ADDED, like the watch cache does).
    fn event_for(&self, c: &Change) -> Option<String> {
        if c.gvr != self.info.gvr {
            return None;
        }
        let now = self.matches(&c.obj);
        let before = c.old.as_ref().is_some_and(|o| self.matches(o));
        let ty = match c.kind {
            ChangeType::Added if now => "ADDED",
            ChangeType::Deleted if now => "DELETED",
            ChangeType::Modified => match (before, now) {
                (true, true) => "MODIFIED",
                (false, true) => "ADDED",
                (true, false) => "DELETED",
                (false, false) => return None,
            },
            _ => return None,
        };
        Some(line(ty, &c.obj))
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> String {
        let mut metadata = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        line(
            "BOOKMARK",
            &json!({"kind": self.info.kind, "apiVersion": self.info.gvr.api_version(), "metadata": metadata}),
        )
    }
}

fn line(ty: &str, obj: &Value) -> String {
    let mut s = json!({"type": ty, "object": obj}).to_string();
    s.push('\n');
    s
}

pub(crate) struct WatchParams {
    pub resource_version: Option<String>,
    pub bookmarks: bool,
    pub send_initial_events: bool,
    pub timeout: Duration,
}

struct OpenGuard(Arc<Inner>);
impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open_watches.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(crate) fn start(
    inner: &Arc<Inner>,
    filter: WatchFilter,
    params: WatchParams,
) -> Result<http::Response<ResponseBody>, ApiError> {
    if params.send_initial_events && !params.bookmarks {
        return Err(ApiError::new(
            422,
            "Invalid",
            "ListOptions.meta.k8s.io \"\" is invalid: allowWatchBookmarks: Required value: allowWatchBookmarks must be set to true when sendInitialEvents is set",
        ));
    }
    let (rx, initial, last_rv, expired, bookmark_interval) = {
        let st = inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let rx = st.tx.subscribe();
        let current = st.rv;
        let mut initial = Vec::new();
        let mut expired = false;
        let snapshot = |initial: &mut Vec<String>| {
            for obj in st.list(
                &filter.info.gvr,
                filter.namespace.as_deref(),
                &filter.labels,
                &filter.fields,
            ) {
                initial.push(line("ADDED", &obj));
            }
        };
        let rv = params.resource_version.as_deref().unwrap_or("");
        if params.send_initial_events {
            snapshot(&mut initial);
            initial.push(filter.bookmark(current, true));
        } else if rv.is_empty() || rv == "0" {
            snapshot(&mut initial);
        } else {
            let from: u64 = rv
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv:?}")))?;
            if from < st.compacted_rv {
                expired = true;
                let err = ApiError::gone(format!(
                    "too old resource version: {from} ({})",
                    st.compacted_rv
                ));
                initial.push(line("ERROR", &err.to_status()));
            } else {
                for c in st.history.iter().filter(|c| c.rv > from) {
                    if let Some(ev) = filter.event_for(c) {
                        initial.push(ev);
                    }
                }
            }
        }
        (rx, initial, current, expired, st.bookmark_interval)
    };

    inner.open_watches.fetch_add(1, Ordering::SeqCst);
    let guard = OpenGuard(inner.clone());
    let (tx, out) = mpsc::channel::<Bytes>(256);
    tokio::spawn(pump(
        guard,
        filter,
        params,
        rx,
        initial,
        last_rv,
        expired,
        bookmark_interval,
        tx,
    ));

    let stream = futures::stream::unfold(out, |mut out| async move {
        out.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), out))
    });
    let body = StreamBody::new(stream).boxed_unsync();
    Ok(http::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body)
        .unwrap_or_default())
}

#[allow(clippy::too_many_arguments)]
async fn pump(
    _guard: OpenGuard,
    filter: WatchFilter,
    params: WatchParams,
    mut rx: broadcast::Receiver<WatchMsg>,
    initial: Vec<String>,
    mut last_rv: u64,
    expired: bool,
    bookmark_interval: Duration,
    tx: mpsc::Sender<Bytes>,
) {
    for l in initial {
        if tx.send(Bytes::from(l)).await.is_err() {
            return;
        }
    }
    if expired {
        return;
    }
    let deadline = tokio::time::sleep(params.timeout);
    tokio::pin!(deadline);
    let mut ticker = tokio::time::interval(bookmark_interval.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            () = &mut deadline => return,
            () = tx.closed() => return,
            _ = ticker.tick(), if params.bookmarks => {
                if tx.send(Bytes::from(filter.bookmark(last_rv, false))).await.is_err() {
                    return;
                }
            }
            msg = rx.recv() => match msg {
                Ok(WatchMsg::Change(c)) => {
                    last_rv = last_rv.max(c.rv);
                    if let Some(ev) = filter.event_for(&c)
                        && tx.send(Bytes::from(ev)).await.is_err()
                    {
                        return;
                    }
                }
                // Closed by the test, or this watcher fell behind: end the stream; clients re-watch.
                Ok(WatchMsg::CloseAll) | Err(_) => return,
            },
        }
    }
}
