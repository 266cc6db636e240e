//! The part of TOML that exercises.toml uses: `[[exercise]]` tables whose keys hold strings
//! (basic, literal, multi-line) or arrays of strings, and `#` comments. Anything else is an
//! error that names the line, so a typo never turns into a silently missing exercise.
//! (The `toml` crate would do, but its current versions need a newer Rust than this crate.)

use std::collections::BTreeMap;

/// A value of the subset.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    List(Vec<String>),
}

/// One `[[NAME]]` table: its name, the line it starts on, and its keys.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub line: usize,
    pub keys: BTreeMap<String, Value>,
}

/// Parses `text`; errors are one sentence with the line number.
pub fn parse(text: &str) -> Result<Vec<Table>, String> {
    let mut p = Parser {
        chars: text.chars().collect(),
        at: 0,
        line: 1,
    };
    let mut tables: Vec<Table> = Vec::new();
    loop {
        p.skip_blank_lines();
        let Some(c) = p.peek() else { break };
        let line = p.line;
        if c == '[' {
            if !p.eat("[[") {
                return Err(p.error("only arrays of tables ([[name]]) are understood"));
            }
            let name = p.bare_key();
            if name.is_empty() || !p.eat("]]") {
                return Err(p.error("a table header is [[name]]"));
            }
            p.end_of_line()?;
            tables.push(Table {
                name,
                line,
                keys: BTreeMap::new(),
            });
            continue;
        }
        let key = p.bare_key();
        if key.is_empty() {
            return Err(p.error("expected a key (letters, digits, _ and -)"));
        }
        p.skip_spaces();
        if !p.eat("=") {
            return Err(p.error(&format!("expected `=` after `{key}`")));
        }
        p.skip_spaces();
        let value = p.value()?;
        p.end_of_line()?;
        let Some(table) = tables.last_mut() else {
            return Err(format!("line {line}: `{key}` comes before any [[table]]"));
        };
        if table.keys.insert(key.clone(), value).is_some() {
            return Err(format!("line {line}: `{key}` is set twice in one table"));
        }
    }
    Ok(tables)
}

struct Parser {
    chars: Vec<char>,
    at: usize,
    line: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn eat(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        if self.chars.len() >= self.at + n
            && self.chars[self.at..self.at + n]
                .iter()
                .copied()
                .eq(s.chars())
        {
            for _ in 0..n {
                self.bump();
            }
            return true;
        }
        false
    }

    fn error(&self, what: &str) -> String {
        format!("line {}: {what}", self.line)
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
    }

    fn skip_comment(&mut self) {
        if self.peek() == Some('#') {
            while !matches!(self.peek(), None | Some('\n')) {
                self.bump();
            }
        }
    }

    /// Blank lines, comments and (inside arrays) newlines.
    fn skip_blank_lines(&mut self) {
        loop {
            self.skip_spaces();
            self.skip_comment();
            match self.peek() {
                Some('\n') => {
                    self.bump();
                }
                Some('\r') if self.chars.get(self.at + 1) == Some(&'\n') => {
                    self.bump();
                }
                _ => return,
            }
        }
    }

    fn end_of_line(&mut self) -> Result<(), String> {
        self.skip_spaces();
        self.skip_comment();
        self.eat("\r");
        match self.peek() {
            None => Ok(()),
            Some('\n') => {
                self.bump();
                Ok(())
            }
            Some(c) => Err(self.error(&format!("unexpected `{c}` after the value"))),
        }
    }

    fn bare_key(&mut self) -> String {
        let mut key = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                key.push(c);
                self.bump();
            } else {
                break;
            }
        }
        key
    }

    fn value(&mut self) -> Result<Value, String> {
        if self.eat("[") {
            let mut items = Vec::new();
            loop {
                self.skip_blank_lines();
                if self.eat("]") {
                    return Ok(Value::List(items));
                }
                items.push(self.string()?);
                self.skip_blank_lines();
                if self.eat("]") {
                    return Ok(Value::List(items));
                }
                if !self.eat(",") {
                    return Err(self.error("expected `,` or `]` in the array"));
                }
            }
        }
        Ok(Value::Str(self.string()?))
    }

    fn string(&mut self) -> Result<String, String> {
        let start = self.line;
        if self.eat("\"\"\"") {
            self.eat("\r");
            self.eat("\n");
            return self.until("\"\"\"", true, start);
        }
        if self.eat("'''") {
            self.eat("\r");
            self.eat("\n");
            return self.until("'''", false, start);
        }
        if self.eat("\"") {
            return self.until("\"", true, start);
        }
        if self.eat("'") {
            return self.until("'", false, start);
        }
        Err(self
            .error("expected a string (\"…\", '…', \"\"\"…\"\"\") or an array of strings"))
    }

    /// The text up to `close`; with `escapes`, backslash escapes of basic strings.
    fn until(
        &mut self,
        close: &str,
        escapes: bool,
        start: usize,
    ) -> Result<String, String> {
        let multi = close.len() == 3;
        let mut out = String::new();
        loop {
            if self.eat(close) {
                return Ok(out);
            }
            let Some(c) = self.bump() else {
                return Err(format!("line {start}: the string never ends"));
            };
            if c == '\n' && !multi {
                return Err(format!(
                    "line {start}: the string ends at the end of the line"
                ));
            }
            if c != '\\' || !escapes {
                out.push(c);
                continue;
            }
            match self.bump() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                // A backslash at the end of a line of a multi-line string joins the lines.
                Some('\n') if multi => {
                    while matches!(self.peek(), Some(' ' | '\t' | '\n')) {
                        self.bump();
                    }
                }
                other => {
                    return Err(self.error(&format!(
                        "unknown escape \\{} in a string",
                        other.map(String::from).unwrap_or_default()
                    )))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_strings_and_arrays() {
        let text = "# c\n[[exercise]]\nid = \"01.1\" # c\nt = ['a', \"b\\\"\",\n  ]\nh = \"\"\"\nx\ny\n\"\"\"\n";
        let tables = parse(text).expect("parses");
        assert_eq!(tables.len(), 1);
        let keys = &tables[0].keys;
        assert_eq!(keys["id"], Value::Str("01.1".into()));
        assert_eq!(keys["t"], Value::List(vec!["a".into(), "b\"".into()]));
        assert_eq!(keys["h"], Value::Str("x\ny\n".into()));
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            parse("[[e]]\nid = 3\n").unwrap_err().split(':').next(),
            Some("line 2")
        );
        assert!(parse("id = \"x\"\n")
            .unwrap_err()
            .contains("before any [[table]]"));
        assert!(parse("[[e]]\na = \"x\"\na = \"y\"\n")
            .unwrap_err()
            .contains("twice"));
    }
}
