//! Numbered things (sessions, transfers) that are dropped once they are done while the numbers
//! of the others keep their meaning: what lets memory stay flat on a capture of many sessions.

use std::collections::{BTreeSet, VecDeque};

/// A vector whose entries can be retired: an index, once given out, names the same entry
/// forever; a retired entry costs one pointer until every entry before it is retired too, then
/// nothing (sessions end roughly in the order they began).
#[derive(Debug)]
pub struct Slots<T> {
    /// Entries from index `base` on.
    items: VecDeque<Option<Box<T>>>,
    base: usize,
    /// Indices not retired: [`Slots::iter`] visits only these, so a long-lived entry that keeps
    /// the retired ones after it from being freed does not make every walk as long as the
    /// capture.
    live: BTreeSet<usize>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            items: VecDeque::new(),
            base: 0,
            live: BTreeSet::new(),
        }
    }
}

impl<T> Slots<T> {
    /// Adds an entry; its index is the old [`Slots::len`].
    pub fn push(&mut self, item: T) {
        self.live.insert(self.len());
        self.items.push_back(Some(Box::new(item)));
    }

    /// How many indices were given out, retired ones included.
    pub fn len(&self) -> usize {
        self.base + self.items.len()
    }

    /// True when nothing was ever added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries not retired.
    pub fn live(&self) -> usize {
        self.live.len()
    }

    /// The entry at `i`, unless it was retired.
    pub fn get(&self, i: usize) -> Option<&T> {
        let at = i.checked_sub(self.base)?;
        self.items.get(at).and_then(|x| x.as_deref())
    }

    /// The entry at `i`, unless it was retired.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        let at = i.checked_sub(self.base)?;
        self.items.get_mut(at).and_then(|x| x.as_deref_mut())
    }

    /// Drops the entry at `i` and hands it back.
    pub fn retire(&mut self, i: usize) -> Option<T> {
        let at = i.checked_sub(self.base)?;
        let item = self.items.get_mut(at).and_then(Option::take)?;
        self.live.remove(&i);
        while self.items.front().is_some_and(Option::is_none) {
            self.items.pop_front();
            self.base += 1;
        }
        if self.items.capacity() > 64 && self.items.capacity() > 4 * self.items.len() {
            self.items.shrink_to(2 * self.items.len());
        }
        Some(*item)
    }

    /// The entries not retired, in index order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.live.iter().filter_map(|&i| self.get(i))
    }

    /// The entries not retired, in index order.
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut T> {
        self.items.iter_mut().filter_map(|x| x.as_deref_mut())
    }
}

/// Like a `Vec`'s: panics when `i` was never given out or was retired (for tests; the
/// analysis uses [`Slots::get`]).
impl<T> std::ops::Index<usize> for Slots<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        match self.get(i) {
            Some(item) => item,
            None => panic!("slot {i} is retired or was never given out"),
        }
    }
}

impl<'a, T> IntoIterator for &'a Slots<T> {
    type Item = &'a T;
    type IntoIter = Box<dyn DoubleEndedIterator<Item = &'a T> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl<'a, T> IntoIterator for &'a mut Slots<T> {
    type Item = &'a mut T;
    type IntoIter = Box<dyn DoubleEndedIterator<Item = &'a mut T> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter_mut())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retired_entry_keeps_the_others_numbers() {
        let mut s = Slots::default();
        for i in 0..4 {
            s.push(i * 10);
        }
        assert_eq!(s.retire(1), Some(10));
        assert_eq!(s.retire(1), None);
        assert_eq!(s.get(2), Some(&20));
        assert_eq!(s.get(1), None);
        assert_eq!((s.len(), s.live()), (4, 3));
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), [0, 20, 30]);
        assert_eq!(s.retire(0), Some(0));
        assert_eq!((s.get(2), s.get(0), s.len()), (Some(&20), None, 4));
        s.push(40);
        assert_eq!(s.get(4), Some(&40));
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), [20, 30, 40]);
    }
}
