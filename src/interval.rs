//! A half-open span of UTC time, the one time type the cost rules and the
//! schedule share. PURE; depends on nothing else in the crate.

use chrono::{DateTime, Utc};

/// A half-open span of time `[start, end)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    /// Inclusive start.
    pub start: DateTime<Utc>,
    /// Exclusive end.
    pub end: DateTime<Utc>,
}

impl Interval {
    /// A span; `None` unless `end > start`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Option<Self> {
        (end > start).then_some(Self { start, end })
    }

    /// Length in whole seconds.
    pub fn seconds(&self) -> i64 {
        (self.end - self.start).num_seconds()
    }

    /// The part of this span inside `other`, if any.
    pub fn clip(&self, other: &Interval) -> Option<Interval> {
        Interval::new(self.start.max(other.start), self.end.min(other.end))
    }
}
