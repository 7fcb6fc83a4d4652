//! Lexer mirroring Go's `text/template/parse/lex.go` (default delimiters).

use super::value::{is_digit, is_letter};

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Text(Vec<u8>),
    LeftDelim,
    RightDelim,
    Space,
    Identifier(String),
    Field(String),
    Variable(String),
    Dot,
    Nil,
    Bool(bool),
    Number(String),
    CharConst(String),
    Complex,
    Str(String),
    RawStr(String),
    LeftParen,
    RightParen,
    Pipe,
    Assign,
    Declare,
    Char(char),
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
    Eof,
    Error(&'static str),
}

impl Tok {
    /// Short description for error messages (never echoes text content).
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Tok::Text(_) => "text",
            Tok::LeftDelim => "\"{{\"",
            Tok::RightDelim => "\"}}\"",
            Tok::Space => "space",
            Tok::Identifier(_) => "identifier",
            Tok::Field(_) => "field",
            Tok::Variable(_) => "variable",
            Tok::Dot => "<.>",
            Tok::Nil => "nil",
            Tok::Bool(_) => "bool",
            Tok::Number(_) | Tok::Complex => "number",
            Tok::CharConst(_) => "character constant",
            Tok::Str(_) | Tok::RawStr(_) => "string",
            Tok::LeftParen => "\"(\"",
            Tok::RightParen => "\")\"",
            Tok::Pipe => "\"|\"",
            Tok::Assign => "\"=\"",
            Tok::Declare => "\":=\"",
            Tok::Char(_) => "character",
            Tok::Block => "<block>",
            Tok::Break => "<break>",
            Tok::Continue => "<continue>",
            Tok::Define => "<define>",
            Tok::Else => "<else>",
            Tok::End => "<end>",
            Tok::If => "<if>",
            Tok::Range => "<range>",
            Tok::Template => "<template>",
            Tok::With => "<with>",
            Tok::Eof => "EOF",
            Tok::Error(_) => "error",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: usize,
}

const LEFT: &[u8] = b"{{";
const RIGHT: &[u8] = b"}}";

fn is_space_b(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn has_left_trim(s: &[u8]) -> bool {
    s.len() >= 2 && s[0] == b'-' && is_space_b(s[1])
}

fn has_right_trim(s: &[u8]) -> bool {
    s.len() >= 2 && is_space_b(s[0]) && s[1] == b'-'
}

fn is_alnum(c: char) -> bool {
    c == '_' || is_letter(c) || is_digit(c)
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    out: Vec<Token>,
    paren_depth: usize,
}

/// Tokenize the whole template. Lexing stops at the first error, which is
/// emitted as an `Error` token.
pub(crate) fn lex(src: &str) -> Vec<Token> {
    let mut l = Lexer {
        src,
        b: src.as_bytes(),
        pos: 0,
        out: Vec::new(),
        paren_depth: 0,
    };
    l.run();
    l.out
}

impl<'a> Lexer<'a> {
    fn emit(&mut self, tok: Tok, pos: usize) {
        self.out.push(Token { tok, pos });
    }

    fn rest(&self) -> &'a [u8] {
        self.b.get(self.pos..).unwrap_or(&[])
    }

    fn peek_char(&self) -> Option<char> {
        self.src.get(self.pos..).and_then(|s| s.chars().next())
    }

    fn err(&mut self, msg: &'static str) {
        let p = self.pos;
        self.emit(Tok::Error(msg), p);
    }

    fn run(&mut self) {
        loop {
            // lexText
            let rest = self.rest();
            match find(rest, LEFT) {
                Some(x) => {
                    let start = self.pos;
                    let delim_at = start + x;
                    let mut text_end = delim_at;
                    if has_left_trim(self.b.get(delim_at + 2..).unwrap_or(&[])) {
                        let t = self.b.get(start..delim_at).unwrap_or(&[]);
                        text_end = start + trim_right_len(t);
                    }
                    if text_end > start {
                        let t = self.b.get(start..text_end).unwrap_or(&[]).to_vec();
                        self.emit(Tok::Text(t), start);
                    }
                    self.pos = delim_at;
                    if !self.lex_left_delim() {
                        return;
                    }
                }
                None => {
                    if !rest.is_empty() {
                        let p = self.pos;
                        self.emit(Tok::Text(rest.to_vec()), p);
                    }
                    self.pos = self.b.len();
                    let p = self.pos;
                    self.emit(Tok::Eof, p);
                    return;
                }
            }
        }
    }

    /// Returns false on error.
    fn lex_left_delim(&mut self) -> bool {
        let delim_pos = self.pos;
        self.pos += LEFT.len();
        let trim = has_left_trim(self.rest());
        let after = if trim { 2 } else { 0 };
        if self
            .b
            .get(self.pos + after..)
            .unwrap_or(&[])
            .starts_with(b"/*")
        {
            self.pos += after + 2;
            let Some(x) = find(self.rest(), b"*/") else {
                self.err("unclosed comment");
                return false;
            };
            self.pos += x + 2;
            let (delim, trim_space) = self.at_right_delim();
            if !delim {
                self.err("comment ends before closing delimiter");
                return false;
            }
            if trim_space {
                self.pos += 2;
            }
            self.pos += RIGHT.len();
            if trim_space {
                self.pos += trim_left_len(self.rest());
            }
            return true;
        }
        self.emit(Tok::LeftDelim, delim_pos);
        self.pos += after;
        self.paren_depth = 0;
        self.lex_inside_action()
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let r = self.rest();
        if has_right_trim(r) && r.get(2..).unwrap_or(&[]).starts_with(RIGHT) {
            return (true, true);
        }
        if r.starts_with(RIGHT) {
            return (true, false);
        }
        (false, false)
    }

    fn at_terminator(&self) -> bool {
        match self.peek_char() {
            None => true,
            Some(c) if c.is_ascii() && is_space_b(c as u8) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(RIGHT),
        }
    }

    fn lex_inside_action(&mut self) -> bool {
        loop {
            let (delim, trim) = self.at_right_delim();
            if delim {
                if self.paren_depth != 0 {
                    self.err("unclosed left paren");
                    return false;
                }
                if trim {
                    self.pos += 2;
                }
                let p = self.pos;
                self.pos += RIGHT.len();
                self.emit(Tok::RightDelim, p);
                if trim {
                    self.pos += trim_left_len(self.rest());
                }
                return true;
            }
            let start = self.pos;
            let Some(c) = self.peek_char() else {
                self.err("unclosed action");
                return false;
            };
            match c {
                ' ' | '\t' | '\r' | '\n' => {
                    let mut n = 0;
                    while self.rest().first().is_some_and(|b| is_space_b(*b)) {
                        self.pos += 1;
                        n += 1;
                    }
                    // " -}}" : leave the last space for the delimiter check.
                    let before = self.pos - 1;
                    let r = self.b.get(before..).unwrap_or(&[]);
                    if has_right_trim(r) && r.get(2..).unwrap_or(&[]).starts_with(RIGHT) {
                        self.pos = before;
                        if n == 1 {
                            continue;
                        }
                    }
                    self.emit(Tok::Space, start);
                }
                '=' => {
                    self.pos += 1;
                    self.emit(Tok::Assign, start);
                }
                ':' => {
                    self.pos += 1;
                    if self.rest().first() != Some(&b'=') {
                        self.err("expected :=");
                        return false;
                    }
                    self.pos += 1;
                    self.emit(Tok::Declare, start);
                }
                '|' => {
                    self.pos += 1;
                    self.emit(Tok::Pipe, start);
                }
                '"' => {
                    if !self.lex_quote(b'"', "unterminated quoted string") {
                        return false;
                    }
                    let s = self.src.get(start..self.pos).unwrap_or("").to_string();
                    self.emit(Tok::Str(s), start);
                }
                '\'' => {
                    if !self.lex_quote(b'\'', "unterminated character constant") {
                        return false;
                    }
                    let s = self.src.get(start..self.pos).unwrap_or("").to_string();
                    self.emit(Tok::CharConst(s), start);
                }
                '`' => {
                    self.pos += 1;
                    let Some(x) = find(self.rest(), b"`") else {
                        self.err("unterminated raw quoted string");
                        return false;
                    };
                    self.pos += x + 1;
                    let s = self.src.get(start..self.pos).unwrap_or("").to_string();
                    self.emit(Tok::RawStr(s), start);
                }
                '$' => {
                    self.pos += 1;
                    if !self.lex_field_or_var(start, true) {
                        return false;
                    }
                }
                '.' => {
                    let next = self.b.get(self.pos + 1).copied();
                    if next.is_some_and(|n| n.is_ascii_digit()) {
                        if !self.lex_number(start) {
                            return false;
                        }
                    } else {
                        self.pos += 1;
                        if !self.lex_field_or_var(start, false) {
                            return false;
                        }
                    }
                }
                '+' | '-' | '0'..='9' => {
                    if !self.lex_number(start) {
                        return false;
                    }
                }
                '(' => {
                    self.pos += 1;
                    self.paren_depth += 1;
                    self.emit(Tok::LeftParen, start);
                }
                ')' => {
                    self.pos += 1;
                    if self.paren_depth == 0 {
                        self.err("unexpected right paren");
                        return false;
                    }
                    self.paren_depth -= 1;
                    self.emit(Tok::RightParen, start);
                }
                c if is_alnum(c) => {
                    while let Some(c) = self.peek_char() {
                        if !is_alnum(c) {
                            break;
                        }
                        self.pos += c.len_utf8();
                    }
                    if !self.at_terminator() {
                        self.err("bad character in identifier");
                        return false;
                    }
                    let word = self.src.get(start..self.pos).unwrap_or("");
                    let tok = match word {
                        "block" => Tok::Block,
                        "break" => Tok::Break,
                        "continue" => Tok::Continue,
                        "define" => Tok::Define,
                        "else" => Tok::Else,
                        "end" => Tok::End,
                        "if" => Tok::If,
                        "range" => Tok::Range,
                        "nil" => Tok::Nil,
                        "template" => Tok::Template,
                        "with" => Tok::With,
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        w => Tok::Identifier(w.to_string()),
                    };
                    self.emit(tok, start);
                }
                c if c.is_ascii() && (c == ' ' || c.is_ascii_graphic()) => {
                    self.pos += 1;
                    self.emit(Tok::Char(c), start);
                }
                _ => {
                    self.err("unrecognized character in action");
                    return false;
                }
            }
        }
    }

    fn lex_quote(&mut self, q: u8, msg: &'static str) -> bool {
        self.pos += 1;
        loop {
            match self.rest().first().copied() {
                Some(b'\\') => {
                    match self.b.get(self.pos + 1) {
                        None | Some(b'\n') => {
                            self.err(msg);
                            return false;
                        }
                        Some(_) => {}
                    }
                    // skip the backslash and the next full char
                    self.pos += 1;
                    let n = self.peek_char().map(char::len_utf8).unwrap_or(1);
                    self.pos += n;
                }
                None | Some(b'\n') => {
                    self.err(msg);
                    return false;
                }
                Some(c) if c == q => {
                    self.pos += 1;
                    return true;
                }
                Some(_) => {
                    let n = self.peek_char().map(char::len_utf8).unwrap_or(1);
                    self.pos += n;
                }
            }
        }
    }

    fn lex_field_or_var(&mut self, start: usize, var: bool) -> bool {
        if self.at_terminator() {
            if var {
                self.emit(Tok::Variable("$".into()), start);
            } else {
                self.emit(Tok::Dot, start);
            }
            return true;
        }
        while let Some(c) = self.peek_char() {
            if !is_alnum(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        if !self.at_terminator() {
            self.err("bad character in field or variable");
            return false;
        }
        let word = self.src.get(start..self.pos).unwrap_or("").to_string();
        if var {
            self.emit(Tok::Variable(word), start);
        } else {
            let name = word.get(1..).unwrap_or("").to_string();
            self.emit(Tok::Field(name), start);
        }
        true
    }

    fn accept(&mut self, set: &[u8]) -> bool {
        if let Some(c) = self.rest().first()
            && set.contains(c)
        {
            self.pos += 1;
            return true;
        }
        false
    }

    fn accept_run(&mut self, set: &[u8]) {
        while self.accept(set) {}
    }

    fn scan_number(&mut self) -> bool {
        self.accept(b"+-");
        let mut digits: &[u8] = b"0123456789_";
        if self.accept(b"0") {
            if self.accept(b"xX") {
                digits = b"0123456789abcdefABCDEF_";
            } else if self.accept(b"oO") {
                digits = b"01234567_";
            } else if self.accept(b"bB") {
                digits = b"01_";
            }
        }
        self.accept_run(digits);
        if self.accept(b".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept(b"eE") {
            self.accept(b"+-");
            self.accept_run(b"0123456789_");
        }
        if digits.len() == 23 && self.accept(b"pP") {
            self.accept(b"+-");
            self.accept_run(b"0123456789_");
        }
        self.accept(b"i");
        if self.peek_char().is_some_and(is_alnum) {
            return false;
        }
        true
    }

    fn lex_number(&mut self, start: usize) -> bool {
        if !self.scan_number() {
            self.err("bad number syntax");
            return false;
        }
        if matches!(self.rest().first(), Some(b'+' | b'-')) {
            // complex literal
            if !self.scan_number() || self.b.get(self.pos.wrapping_sub(1)) != Some(&b'i') {
                self.err("bad number syntax");
                return false;
            }
            self.emit(Tok::Complex, start);
            return true;
        }
        let s = self.src.get(start..self.pos).unwrap_or("").to_string();
        if s.ends_with('i') {
            self.emit(Tok::Complex, start);
        } else {
            self.emit(Tok::Number(s), start);
        }
        true
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Length of the trailing whitespace-trimmed prefix.
fn trim_right_len(t: &[u8]) -> usize {
    let mut n = t.len();
    while n > 0 && t.get(n - 1).is_some_and(|b| is_space_b(*b)) {
        n -= 1;
    }
    n
}

/// Number of leading whitespace bytes.
fn trim_left_len(t: &[u8]) -> usize {
    t.iter().take_while(|b| is_space_b(**b)).count()
}
