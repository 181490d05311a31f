//! Sorting, written once. Every `sort`, `sort_by` or `sort_by_cached_key` on another element
//! type or comparison is another copy of the standard library's sort in the Worker (a stable
//! sort is 2–5 KB of Wasm per copy); the orders of listings, index terms and signed strings go
//! through [`by_key`] instead, which sorts keys of one type with one copy of the sort.

/// What an order sorts by: a number, then two strings (a name and an id, say), compared in
/// that order. Keys end with something unique, so no two items tie and the order is stable.
pub type Key = (u64, String, String);

/// Sorts `items` by `key`, computed once per item.
pub fn by_key<T>(items: &mut [T], key: impl Fn(&T) -> Key) {
    let keys: Vec<(Key, usize)> = items.iter().enumerate().map(|(i, t)| (key(t), i)).collect();
    arrange(items, order(keys));
}

/// The positions of the keyed items in ascending order of key: the one sort.
#[inline(never)]
fn order(mut keys: Vec<(Key, usize)>) -> Vec<usize> {
    keys.sort_unstable();
    keys.into_iter().map(|(_, i)| i).collect()
}

/// Puts the item at `order[i]` in place `i`, by swaps (the items are not cloned).
fn arrange<T>(items: &mut [T], order: Vec<usize>) {
    for i in 0..order.len() {
        // Where the item meant for place `i` is now: earlier places swapped it onwards.
        let mut from = order[i];
        while from < i {
            from = order[from];
        }
        items.swap(i, from);
    }
}

/// A key that orders by one string, then another (a name case-insensitively, then an id).
pub fn by_text(first: &str, second: &str) -> Key {
    (0, first.to_lowercase(), second.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sorts_as_the_standard_sort_does(items in proptest::collection::vec((0u64..4, "[a-c]{0,2}", "[a-c]{0,2}"), 0..40)) {
            let mut ours = items.clone();
            by_key(&mut ours, |t| t.clone());
            let mut theirs = items;
            theirs.sort();
            prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn names_are_ordered_case_insensitively_then_by_id() {
        let mut people = vec![("b", "2"), ("A", "9"), ("a", "1")];
        by_key(&mut people, |(name, id)| by_text(name, id));
        assert_eq!(people, [("a", "1"), ("A", "9"), ("b", "2")]);
    }
}
