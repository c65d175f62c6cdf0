//! A list of the journal's records, oldest first, bounded in count and
//! counted in bytes (so the journal as a whole can be bounded in bytes).

use std::collections::VecDeque;
use std::ops::Deref;

/// What a kept record occupies, near enough: its own size and the bytes it
/// alone holds (headers, bodies, strings). It must not change while the
/// record is kept.
pub(crate) trait Weigh {
    fn weight(&self) -> usize;
}

/// Records oldest first: at most `limit` of them, their bytes counted.
#[derive(Debug)]
pub(crate) struct Bounded<T> {
    items: VecDeque<T>,
    bytes: usize,
    limit: usize,
}

impl<T: Weigh> Bounded<T> {
    pub(crate) fn new(limit: usize) -> Bounded<T> {
        Bounded {
            items: VecDeque::new(),
            bytes: 0,
            limit,
        }
    }

    /// Appends `item`; the oldest goes once the count limit is passed.
    /// Returns how many were dropped.
    pub(crate) fn push(&mut self, item: T) -> usize {
        self.bytes += item.weight();
        self.items.push_back(item);
        let mut dropped = 0;
        while self.items.len() > self.limit && self.pop_front().is_some() {
            dropped += 1;
        }
        dropped
    }

    /// Takes the oldest record.
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        let item = self.items.pop_front()?;
        self.bytes -= item.weight();
        Some(item)
    }

    /// The record at `index` (0: the oldest), to update what does not
    /// change its weight.
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.items.get_mut(index)
    }

    /// The bytes of every record kept.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.bytes = 0;
    }
}

impl<T> Deref for Bounded<T> {
    type Target = VecDeque<T>;

    fn deref(&self) -> &VecDeque<T> {
        &self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Weigh for String {
        fn weight(&self) -> usize {
            self.len()
        }
    }

    #[test]
    fn bytes_follow_what_is_kept() {
        let mut list = Bounded::new(2);
        assert_eq!(list.push("abc".to_owned()), 0);
        assert_eq!(list.push("de".to_owned()), 0);
        assert_eq!(list.bytes(), 5);
        assert_eq!(
            list.push("f".to_owned()),
            1,
            "the count limit drops the oldest"
        );
        assert_eq!(list.bytes(), 3);
        assert_eq!(list.pop_front().as_deref(), Some("de"));
        assert_eq!(list.bytes(), 1);
        list.clear();
        assert_eq!((list.len(), list.bytes()), (0, 0));
    }
}
