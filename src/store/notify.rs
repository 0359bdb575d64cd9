//! Cross-replica event notices: the broadcast that tells subscribers "conversation C has an event with sequence number N", fed in-process on SQLite and by PostgreSQL LISTEN/NOTIFY on PostgreSQL.
//!
//! A notice is a hint, not the event: subscribers read the events themselves with
//! [`Store::events_after`](super::Store::events_after). Notices can be lost (a
//! subscriber that lags behind the broadcast buffer gets `RecvError::Lagged`; the
//! PostgreSQL listener connection can drop), so a subscriber that sees `Lagged` or a
//! [`EventNotice::is_resync`] notice re-reads `events_after` for every conversation it
//! follows.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::{Result, Store};

/// PostgreSQL NOTIFY channel carrying `"<seq>:<conversation_id>"` payloads.
pub const EVENT_CHANNEL: &str = "intentdesk_events";

/// Notices buffered per subscriber before it lags.
const BROADCAST_CAPACITY: usize = 1024;

/// Longest pause between attempts to re-establish a lost LISTEN connection.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(10);

/// "An event with sequence number `seq` was committed for `conversation_id`."
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EventNotice {
    /// Empty in a resync notice.
    pub conversation_id: String,
    /// 0 in a resync notice.
    pub seq: i64,
}

impl EventNotice {
    /// "Notices may have been missed (the PostgreSQL listener reconnected): re-read
    /// `events_after` for every conversation you follow."
    pub fn resync() -> EventNotice {
        EventNotice {
            conversation_id: String::new(),
            seq: 0,
        }
    }

    pub fn is_resync(&self) -> bool {
        self.conversation_id.is_empty()
    }
}

/// The fan-out of one `Store` (shared by its clones).
pub(super) struct Notifier {
    /// Every subscriber's receiver comes from this sender. On PostgreSQL only the
    /// listener task sends (this replica's own events come back through NOTIFY too,
    /// so none is delivered twice); on SQLite only `append_event`, after its commit.
    tx: broadcast::Sender<EventNotice>,
    /// The PostgreSQL LISTEN task; aborted when the last `Store` clone is dropped.
    _listener: Option<AbortOnDrop>,
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Notifier {
    pub(super) fn in_process() -> Notifier {
        Notifier {
            tx: broadcast::channel(BROADCAST_CAPACITY).0,
            _listener: None,
        }
    }

    /// Connects the LISTEN connection before returning, so a notice for any event
    /// committed after `Store::connect` returned reaches this replica's subscribers.
    pub(super) async fn postgres(url: &str) -> Result<Notifier> {
        let mut listener = PgListener::connect(url).await?;
        listener.listen(EVENT_CHANNEL).await?;
        let tx = broadcast::channel(BROADCAST_CAPACITY).0;
        let task = tokio::spawn(listen_loop(listener, url.to_string(), tx.clone()));
        Ok(Notifier {
            tx,
            _listener: Some(AbortOnDrop(task)),
        })
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<EventNotice> {
        self.tx.subscribe()
    }

    /// In-process delivery (SQLite). No subscriber is not an error.
    pub(super) fn publish_local(&self, notice: EventNotice) {
        let _ = self.tx.send(notice);
    }
}

/// Forwards NOTIFY payloads to the broadcast. When the connection drops it builds a
/// new listener (with backoff) and, once it is LISTENing again, sends a resync notice.
async fn listen_loop(mut listener: PgListener, url: String, tx: broadcast::Sender<EventNotice>) {
    loop {
        // Ok(None): the connection was lost. Err: the connection failed.
        while let Ok(Some(n)) = listener.try_recv().await {
            if let Some(notice) = decode_payload(n.payload()) {
                let _ = tx.send(notice);
            }
        }
        let mut delay = Duration::from_millis(100);
        listener = loop {
            tokio::time::sleep(delay).await;
            if let Ok(mut l) = PgListener::connect(&url).await
                && l.listen(EVENT_CHANNEL).await.is_ok()
            {
                break l;
            }
            delay = (delay * 2).min(MAX_RECONNECT_DELAY);
        };
        let _ = tx.send(EventNotice::resync());
    }
}

pub(super) fn encode_payload(seq: i64, conversation_id: &str) -> String {
    format!("{seq}:{conversation_id}")
}

pub(super) fn decode_payload(payload: &str) -> Option<EventNotice> {
    let (seq, conversation_id) = payload.split_once(':')?;
    let seq = seq.parse().ok()?;
    (!conversation_id.is_empty()).then(|| EventNotice {
        conversation_id: conversation_id.to_string(),
        seq,
    })
}

impl Store {
    /// Notices of events committed from now on.
    ///
    /// SQLite: events appended through this `Store` (or its clones): one process owns
    /// the file. PostgreSQL: events appended by any replica on the same database,
    /// delivered through LISTEN/NOTIFY only after the event's transaction committed.
    /// See the module documentation for lost notices.
    pub async fn subscribe(&self) -> broadcast::Receiver<EventNotice> {
        self.inner.notifier.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip() {
        let p = encode_payload(42, "0b7c-uuid");
        assert_eq!(
            decode_payload(&p),
            Some(EventNotice {
                conversation_id: "0b7c-uuid".into(),
                seq: 42
            })
        );
        assert_eq!(decode_payload("x:abc"), None);
        assert_eq!(decode_payload("12:"), None);
        assert_eq!(decode_payload("garbage"), None);
    }

    #[test]
    fn resync_notice() {
        assert!(EventNotice::resync().is_resync());
        assert!(!decode_payload("1:c").unwrap().is_resync());
    }

    #[tokio::test]
    async fn in_process_fan_out() {
        let n = Notifier::in_process();
        let mut a = n.subscribe();
        let mut b = n.subscribe();
        n.publish_local(EventNotice {
            conversation_id: "c".into(),
            seq: 1,
        });
        assert_eq!(a.recv().await.unwrap().seq, 1);
        assert_eq!(b.recv().await.unwrap().seq, 1);
    }
}
