//! The bound on the events kept per log: the newest are kept and the oldest dropped (and
//! counted), since what the rules ask (did the server start after the update, what failed
//! after it) is about the latest events.

use std::collections::VecDeque;

use exfleet_proto::v1::Event;

/// The events kept of one log, within a count and a byte bound.
#[derive(Debug)]
pub struct Kept {
    events: VecDeque<Event>,
    sizes: VecDeque<usize>,
    bytes: usize,
    max_events: usize,
    max_bytes: usize,
    /// Events dropped to stay within the bounds.
    pub dropped: u64,
}

impl Kept {
    /// Keeps at most `max_events` events and `max_bytes` bytes of them (encoded).
    pub fn new(max_events: usize, max_bytes: usize) -> Kept {
        Kept {
            events: VecDeque::new(),
            sizes: VecDeque::new(),
            bytes: 0,
            max_events,
            max_bytes,
            dropped: 0,
        }
    }

    /// Adds an event newer than those kept; drops the oldest while over a bound.
    pub fn push(&mut self, e: Event) {
        let size = prost::Message::encoded_len(&e);
        self.events.push_back(e);
        self.sizes.push_back(size);
        self.bytes += size;
        while self.events.len() > self.max_events || self.bytes > self.max_bytes {
            self.events.pop_front();
            self.bytes -= self.sizes.pop_front().unwrap_or(0);
            self.dropped += 1;
        }
    }

    /// The events kept, oldest first.
    pub fn into_vec(self) -> Vec<Event> {
        self.events.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(record_id: u64, detail: &str) -> Event {
        Event {
            record_id,
            detail: detail.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_newest_are_kept_and_the_dropped_counted() {
        let mut k = Kept::new(3, 1 << 20);
        for i in 1..=5 {
            k.push(event(i, ""));
        }
        assert_eq!(k.dropped, 2);
        let ids: Vec<u64> = k.into_vec().iter().map(|e| e.record_id).collect();
        assert_eq!(ids, [3, 4, 5]);
        // The byte bound: a big event pushes the older out.
        let mut k = Kept::new(100, 300);
        k.push(event(1, &"a".repeat(100)));
        k.push(event(2, &"b".repeat(100)));
        k.push(event(3, &"c".repeat(150)));
        assert_eq!(k.dropped, 1);
        assert_eq!(k.into_vec().len(), 2);
    }
}
