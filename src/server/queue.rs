//! Admission: de-duplication and all-or-nothing reservation of queue slots for one POST.
//!
//! This is the one place where "accepted" is decided, so it holds the invariants the rest of
//! the service relies on:
//!
//! * an operation is queued at most once per TTL window (by operation id + etag);
//! * either every new operation of a POST is queued, or none is and none is marked as seen;
//! * once `admit` returns [`Admit::Accepted`], the jobs are *in* the channel, so a shutdown
//!   that closes the channel afterwards still drains them.
//!
//! The check, the reservation and the marking happen under one (synchronous, never held
//! across an `.await`) mutex, which is what makes two concurrent copies of one notification
//! impossible to accept twice.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{self, error::TrySendError};

use crate::notification::{FailedOperation, NotificationSource, RecordingJob};

/// What a worker does with an accepted operation.
pub(crate) enum Work {
    /// Download and process a recording.
    Download(RecordingJob),
    /// Graph reported a failure (or the entry was unusable): deliver a typed failure result.
    Failed(FailedOperation),
}

impl Work {
    pub(crate) fn source(&self) -> &NotificationSource {
        match self {
            Self::Download(job) => &job.source,
            Self::Failed(failed) => &failed.source,
        }
    }

    /// `operation id` + NUL + `etag`; `None` without an operation id (nothing to compare).
    pub(crate) fn dedup_key(&self) -> Option<String> {
        let source = self.source();
        if source.operation_id.is_empty() {
            return None;
        }
        Some(format!(
            "{}\0{}",
            source.operation_id,
            source.etag.as_deref().unwrap_or("")
        ))
    }

    /// The operation id, for logs.
    pub(crate) fn operation_id(&self) -> &str {
        &self.source().operation_id
    }
}

/// An accepted operation waiting for a worker.
pub(crate) struct QueuedJob {
    pub(crate) work: Work,
    /// When it was accepted, for the `queue` stage latency.
    pub(crate) enqueued: Instant,
}

/// The outcome of [`Admission::admit`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// All new operations are queued.
    Accepted { queued: usize, duplicates: usize },
    /// Not enough room for all of them: nothing was queued or marked.
    Full,
    /// More new operations than the queue can ever hold: retrying cannot help.
    TooMany,
    /// The queue is closed (shutdown): nothing was queued or marked.
    Closed,
    /// The shared queue (Redis) could not be reached: nothing was queued or marked, as far
    /// as the service can tell (see `redis::RedisQueue::admit`).
    Unavailable,
}

/// Operation keys seen within the TTL, oldest first.
struct Seen {
    at: HashMap<String, Instant>,
    order: VecDeque<(Instant, String)>,
    ttl: Duration,
    capacity: usize,
}

impl Seen {
    fn expire(&mut self, now: Instant) {
        while let Some((t, _)) = self.order.front() {
            if now.duration_since(*t) < self.ttl && self.order.len() <= self.capacity {
                break;
            }
            if let Some((t, key)) = self.order.pop_front() {
                // Only forget the key if this entry is its latest sighting.
                if self.at.get(&key) == Some(&t) {
                    self.at.remove(&key);
                }
            }
        }
    }

    fn contains(&self, key: &str, now: Instant) -> bool {
        self.at
            .get(key)
            .is_some_and(|t| now.duration_since(*t) < self.ttl)
    }

    fn insert(&mut self, key: String, now: Instant) {
        self.at.insert(key.clone(), now);
        self.order.push_back((now, key));
        // Over capacity, the oldest go first even inside the TTL: memory stays bounded and
        // the worst case is processing a very old redelivery twice.
        while self.order.len() > self.capacity {
            if let Some((t, key)) = self.order.pop_front() {
                if self.at.get(&key) == Some(&t) {
                    self.at.remove(&key);
                }
            }
        }
    }
}

pub(crate) struct Admission {
    tx: mpsc::Sender<QueuedJob>,
    seen: Mutex<Seen>,
}

impl Admission {
    pub(crate) fn new(tx: mpsc::Sender<QueuedJob>, ttl: Duration, capacity: usize) -> Self {
        let seen = Seen {
            at: HashMap::new(),
            order: VecDeque::new(),
            ttl,
            capacity,
        };
        Self {
            tx,
            seen: Mutex::new(seen),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Jobs waiting in the queue.
    pub(crate) fn depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    pub(crate) fn capacity(&self) -> usize {
        self.tx.max_capacity()
    }

    pub(crate) fn has_room(&self) -> bool {
        self.tx.capacity() > 0
    }

    /// Queues every operation of one POST that was not seen before, or none of them.
    pub(crate) fn admit(&self, works: Vec<Work>) -> Admit {
        let now = Instant::now();
        let mut seen = self.lock();
        seen.expire(now);

        let mut fresh = Vec::with_capacity(works.len());
        let mut keys = Vec::with_capacity(works.len());
        let mut in_this_post = HashSet::new();
        let mut duplicates = 0;
        for work in works {
            let key = work.dedup_key();
            let duplicate = key.as_ref().is_some_and(|k| {
                // The same operation twice in one POST counts as a redelivery too.
                seen.contains(k, now) || !in_this_post.insert(k.clone())
            });
            if duplicate {
                duplicates += 1;
            } else {
                fresh.push(work);
                keys.push(key);
            }
        }
        if fresh.is_empty() {
            return Admit::Accepted {
                queued: 0,
                duplicates,
            };
        }
        if fresh.len() > self.tx.max_capacity() {
            return Admit::TooMany;
        }
        let permits = match self.tx.try_reserve_many(fresh.len()) {
            Ok(permits) => permits,
            Err(TrySendError::Full(())) => return Admit::Full,
            Err(TrySendError::Closed(())) => return Admit::Closed,
        };
        // From here nothing can fail: mark and send while still holding the lock.
        let queued = fresh.len();
        for key in keys.into_iter().flatten() {
            seen.insert(key, now);
        }
        for (permit, work) in permits.zip(fresh) {
            permit.send(QueuedJob {
                work,
                enqueued: now,
            });
        }
        Admit::Accepted { queued, duplicates }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(op: &str, etag: Option<&str>) -> Work {
        Work::Failed(FailedOperation {
            kind: crate::error::ErrorKind::OperationFailed,
            source: NotificationSource {
                call_id: None,
                operation_id: op.into(),
                client_context: None,
                result_info: None,
                reason: None,
                etag: etag.map(str::to_owned),
            },
            message: "x".into(),
        })
    }

    fn admission(capacity: usize) -> (Admission, mpsc::Receiver<QueuedJob>) {
        let (tx, rx) = mpsc::channel(capacity);
        (Admission::new(tx, Duration::from_secs(60), 100), rx)
    }

    #[test]
    fn duplicates_within_and_across_posts() {
        let (a, mut rx) = admission(10);
        let post = vec![failed("a", None), failed("a", None), failed("b", Some("1"))];
        assert_eq!(
            a.admit(post),
            Admit::Accepted {
                queued: 2,
                duplicates: 1
            }
        );
        // Same op with another etag is a new delivery; same etag is a duplicate.
        let post = vec![
            failed("b", Some("1")),
            failed("b", Some("2")),
            failed("a", None),
        ];
        assert_eq!(
            a.admit(post),
            Admit::Accepted {
                queued: 1,
                duplicates: 2
            }
        );
        // Without an operation id nothing can be compared: always queued.
        assert_eq!(
            a.admit(vec![failed("", None), failed("", None)]),
            Admit::Accepted {
                queued: 2,
                duplicates: 0
            }
        );
        let mut ids = Vec::new();
        while let Ok(job) = rx.try_recv() {
            ids.push(job.work.operation_id().to_owned());
        }
        assert_eq!(ids, ["a", "b", "b", "", ""]);
    }

    #[test]
    fn full_queue_reserves_nothing_and_marks_nothing() {
        let (a, mut rx) = admission(2);
        assert_eq!(
            a.admit(vec![failed("a", None)]),
            Admit::Accepted {
                queued: 1,
                duplicates: 0
            }
        );
        assert_eq!(
            a.admit(vec![failed("b", None), failed("c", None)]),
            Admit::Full
        );
        assert_eq!(a.depth(), 1);
        assert_eq!(
            a.admit(Vec::new()),
            Admit::Accepted {
                queued: 0,
                duplicates: 0
            }
        );
        assert_eq!(
            a.admit((0..3).map(|i| failed(&i.to_string(), None)).collect()),
            Admit::TooMany
        );
        rx.try_recv().expect("a");
        // b and c were not marked as seen by the refused POST.
        assert_eq!(
            a.admit(vec![failed("b", None), failed("c", None)]),
            Admit::Accepted {
                queued: 2,
                duplicates: 0
            }
        );
        rx.close();
        assert_eq!(a.admit(vec![failed("d", None)]), Admit::Closed);
    }

    #[test]
    fn seen_set_expires_and_is_bounded() {
        let mut s = Seen {
            at: HashMap::new(),
            order: VecDeque::new(),
            ttl: Duration::from_secs(10),
            capacity: 2,
        };
        let t0 = Instant::now();
        s.insert("a".into(), t0);
        s.insert("b".into(), t0);
        s.insert("c".into(), t0);
        assert!(!s.contains("a", t0), "evicted by capacity");
        assert!(s.contains("b", t0) && s.contains("c", t0));
        let later = t0 + Duration::from_secs(11);
        assert!(!s.contains("b", later), "expired");
        s.expire(later);
        assert!(s.at.is_empty() && s.order.is_empty());
    }
}
