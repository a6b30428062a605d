//! A small set of connection IDs, kept sorted (oldest first: IDs only grow): a user's devices,
//! the devices watching a user.
//!
//! Why not a `BTreeSet`: nearly every such set holds one or two IDs, and a `BTreeSet` allocates
//! a whole node of eleven for the first (~120 bytes per online user, measured with heaptrack);
//! a vector allocates what it holds.

use super::ConnId;

/// A sorted set of connection IDs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IdSet(Vec<ConnId>);

impl IdSet {
    /// Adds `id`; false when it was there already.
    pub fn insert(&mut self, id: ConnId) -> bool {
        match self.0.binary_search(&id) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, id);
                true
            }
        }
    }

    /// Removes `id`; false when it was not there.
    pub fn remove(&mut self, id: &ConnId) -> bool {
        match self.0.binary_search(id) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a IdSet {
    type Item = &'a ConnId;
    type IntoIter = std::slice::Iter<'a, ConnId>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for IdSet {
    type Item = ConnId;
    type IntoIter = std::vec::IntoIter<ConnId>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_sorted_set() {
        let mut set = IdSet::default();
        assert!(set.insert(5));
        assert!(set.insert(2));
        assert!(!set.insert(5));
        assert!(set.insert(9));
        assert_eq!(
            (&set).into_iter().copied().collect::<Vec<_>>(),
            vec![2, 5, 9]
        );
        assert!(set.remove(&5));
        assert!(!set.remove(&5));
        assert_eq!(set.len(), 2);
        assert!(set.remove(&2) && set.remove(&9));
        assert!(set.is_empty());
    }
}
