//! Walking a simd-json tape without building a value tree: object fields as `(key, value index)`
//! pairs, array elements as indexes, and the node span needed to skip a nested value. Shared by
//! the venue parsers that run on the hot thread (Binance, the oracle socket). Nothing here
//! allocates; every access is bounds-checked, so a malformed tape ends an iteration early instead
//! of panicking.

use simd_json::Node;

/// A filled tape.
pub type Nodes<'t, 'a> = &'t [Node<'a>];

/// Number of tape nodes a value occupies (itself plus everything nested in it).
#[inline]
pub fn span(n: &Node<'_>) -> usize {
    match n {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

/// Iterator over `(key, value index)` of one object.
pub struct Fields<'t, 'a> {
    nodes: Nodes<'t, 'a>,
    idx: usize,
    remaining: usize,
}

impl<'a> Iterator for Fields<'_, 'a> {
    type Item = (&'a [u8], usize);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let Some(Node::String(key)) = self.nodes.get(self.idx) else {
            self.remaining = 0;
            return None;
        };
        let vi = self.idx + 1;
        let Some(v) = self.nodes.get(vi) else {
            self.remaining = 0;
            return None;
        };
        self.idx = vi + span(v);
        Some((key.as_bytes(), vi))
    }
}

/// The fields of the object at `obj` (none when `obj` is not an object).
#[inline]
pub fn fields<'t, 'a>(nodes: Nodes<'t, 'a>, obj: usize) -> Fields<'t, 'a> {
    let remaining = match nodes.get(obj) {
        Some(Node::Object { len, .. }) => *len,
        _ => 0,
    };
    Fields {
        nodes,
        idx: obj + 1,
        remaining,
    }
}

/// Iterator over the index of every element of one array, in order.
pub struct Elements<'t, 'a> {
    nodes: Nodes<'t, 'a>,
    idx: usize,
    remaining: usize,
}

impl Iterator for Elements<'_, '_> {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let i = self.idx;
        let Some(n) = self.nodes.get(i) else {
            self.remaining = 0;
            return None;
        };
        self.idx = i + span(n);
        Some(i)
    }
}

/// The elements of the array at `arr` (none when `arr` is not an array).
#[inline]
pub fn elements<'t, 'a>(nodes: Nodes<'t, 'a>, arr: usize) -> Elements<'t, 'a> {
    let remaining = match nodes.get(arr) {
        Some(Node::Array { len, .. }) => *len,
        _ => 0,
    };
    Elements {
        nodes,
        idx: arr + 1,
        remaining,
    }
}

/// Whether node `i` is an object.
#[inline]
pub fn is_object(nodes: Nodes<'_, '_>, i: usize) -> bool {
    matches!(nodes.get(i), Some(Node::Object { .. }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_tape<R>(json: &str, f: impl FnOnce(Nodes<'_, '_>) -> R) -> R {
        let mut bytes = json.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut bytes).expect("valid json");
        f(&tape.0)
    }

    #[test]
    fn walks_fields_and_elements_skipping_nested_values() {
        with_tape(r#"{"a":{"x":[1,2]},"b":[3,{"y":4}],"c":5}"#, |nodes| {
            let keys: Vec<&[u8]> = fields(nodes, 0).map(|(k, _)| k).collect();
            assert_eq!(keys, [&b"a"[..], b"b", b"c"]);
            let (_, b) = fields(nodes, 0).nth(1).unwrap();
            let kinds: Vec<bool> = elements(nodes, b).map(|i| is_object(nodes, i)).collect();
            assert_eq!(kinds, [false, true]);
            assert_eq!(fields(nodes, b).count(), 0, "an array has no fields");
            assert_eq!(elements(nodes, 0).count(), 0, "an object has no elements");
        });
    }

    #[test]
    fn a_truncated_tape_ends_iteration_instead_of_panicking() {
        with_tape(r#"{"a":1,"b":2}"#, |nodes| {
            let cut = &nodes[..2];
            assert_eq!(fields(cut, 0).count(), 0);
            assert_eq!(fields(nodes, 99).count(), 0);
        });
    }
}
