/// Parses one key out of a flat-keyed file's text.
pub fn parse_flat_keyed(text: &str, key: &str) -> Option<u64> {
    for line in text.lines() {
        let Some((k, v)) = line.split_once(' ') else {
            continue;
        };
        if k == key {
            if let Ok(value) = v.trim().parse() {
                return Some(value);
            }
        }
    }
    None
}
