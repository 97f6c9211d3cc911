//! `FairQueue`: the order in which batches waiting for a permit get one.
//!
//! Waiting batches are queued per query group, and groups take turns (round-robin): each time a
//! permit frees up, the next group in the ring dispatches its oldest batch and moves to the back
//! of the ring. A hot group with a hundred waiting batches therefore gets one permit in turn
//! with a cold group that has one, instead of starving it. The structure is pure (no locks, no
//! wakers): `ConcurrencyLimit` in `dispatch/permit.rs` keeps it behind its mutex.

use std::collections::{HashMap, VecDeque};

/// Per-group FIFO queues served round-robin between groups.
#[derive(Debug)]
pub(crate) struct FairQueue<T> {
    queues: HashMap<usize, VecDeque<(u64, T)>>,
    /// Groups with at least one waiting item, in serving order.
    ring: VecDeque<usize>,
    len: usize,
}

impl<T> Default for FairQueue<T> {
    fn default() -> Self {
        Self {
            queues: HashMap::new(),
            ring: VecDeque::new(),
            len: 0,
        }
    }
}

impl<T> FairQueue<T> {
    /// Number of waiting items, all groups.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Queues `item` (identified by `id`) behind the other items of `group`.
    pub(crate) fn push(&mut self, group: usize, id: u64, item: T) {
        let queue = self.queues.entry(group).or_default();
        if queue.is_empty() {
            self.ring.push_back(group);
        }
        queue.push_back((id, item));
        self.len += 1;
    }

    /// Takes the oldest item of the group whose turn it is.
    pub(crate) fn pop(&mut self) -> Option<(u64, T)> {
        let group = self.ring.pop_front()?;
        let queue = self.queues.get_mut(&group)?;
        let item = queue.pop_front();
        if queue.is_empty() {
            self.queues.remove(&group);
        } else {
            self.ring.push_back(group);
        }
        if item.is_some() {
            self.len -= 1;
        }
        item
    }

    /// Removes a waiting item (its waiter went away); `None` if it was not queued.
    pub(crate) fn remove(&mut self, group: usize, id: u64) -> Option<T> {
        let queue = self.queues.get_mut(&group)?;
        let pos = queue.iter().position(|(i, _)| *i == id)?;
        let (_, item) = queue.remove(pos)?;
        self.len -= 1;
        if queue.is_empty() {
            self.queues.remove(&group);
            self.ring.retain(|g| *g != group);
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_take_turns_so_a_hot_group_cannot_starve_a_cold_one() {
        let mut q = FairQueue::default();
        for i in 0..100 {
            q.push(0, i, ("hot", i));
        }
        q.push(1, 1000, ("cold", 0));
        q.push(2, 1001, ("cool", 0));
        let first: Vec<_> = (0..4).map(|_| q.pop().unwrap().1.0).collect();
        assert_eq!(first, ["hot", "cold", "cool", "hot"]);
        assert_eq!(q.len(), 98);
    }

    #[test]
    fn each_group_is_served_in_arrival_order() {
        let mut q = FairQueue::default();
        for i in 0..5 {
            q.push(7, i, i);
        }
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, v)| v)).collect();
        assert_eq!(order, [0, 1, 2, 3, 4]);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn removed_items_are_never_served_and_empty_groups_leave_the_ring() {
        let mut q = FairQueue::default();
        q.push(0, 1, "a");
        q.push(1, 2, "b");
        q.push(0, 3, "c");
        assert_eq!(q.remove(1, 2), Some("b"));
        assert_eq!(q.remove(1, 2), None);
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop().map(|p| p.1), Some("a"));
        assert_eq!(q.pop().map(|p| p.1), Some("c"));
        assert_eq!(q.pop(), None);
    }
}
