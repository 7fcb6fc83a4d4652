//! Parser mirroring Go's `text/template/parse/parse.go`.

use std::collections::HashMap;

use super::funcs;
use super::lex::{Tok, Token, lex};
use super::number::{Number, parse_number};
use super::{ErrKind, Limit, Limits, TemplateError};

/// A list of nodes.
pub(crate) type List = Vec<Node>;

#[derive(Debug)]
pub(crate) enum Node {
    Text(Vec<u8>),
    Action(Pipe),
    If(Control),
    With(Control),
    Range(Control),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

#[derive(Debug)]
pub(crate) struct Control {
    pub(crate) pos: usize,
    pub(crate) pipe: Pipe,
    pub(crate) list: List,
    pub(crate) else_list: Option<List>,
}

#[derive(Debug)]
pub(crate) struct Pipe {
    pub(crate) pos: usize,
    pub(crate) decl: Vec<String>,
    pub(crate) is_assign: bool,
    pub(crate) cmds: Vec<Cmd>,
}

#[derive(Debug)]
pub(crate) struct Cmd {
    pub(crate) pos: usize,
    pub(crate) args: Vec<Arg>,
}

#[derive(Debug)]
pub(crate) enum Arg {
    Field {
        pos: usize,
        idents: Vec<String>,
    },
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
    Ident {
        pos: usize,
        name: String,
    },
    Pipe(Box<Pipe>),
    Var {
        pos: usize,
        name: String,
        fields: Vec<String>,
    },
    Bool(usize, bool),
    Dot(usize),
    Nil(usize),
    Number(usize, Number),
    Str(usize, Vec<u8>),
}

impl Arg {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Ident { pos, .. }
            | Arg::Var { pos, .. }
            | Arg::Bool(pos, _)
            | Arg::Dot(pos)
            | Arg::Nil(pos)
            | Arg::Number(pos, _)
            | Arg::Str(pos, _) => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

/// The parsed template set: main tree plus `define`d templates.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) root: List,
    pub(crate) defs: HashMap<String, List>,
}

enum Item {
    Node(Node),
    End(usize),
    Else(usize),
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token>,
    i: usize,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    max_depth: usize,
    defs: HashMap<String, List>,
}

pub(crate) fn parse(src: &str, limits: &Limits) -> Result<Parsed, TemplateError> {
    let mut p = Parser {
        src,
        toks: lex(src),
        i: 0,
        vars: vec!["$".into()],
        range_depth: 0,
        depth: 0,
        max_depth: limits.max_depth,
        defs: HashMap::new(),
    };
    let mut root = Vec::new();
    loop {
        if matches!(p.peek().tok, Tok::Eof) {
            break;
        }
        if matches!(p.peek().tok, Tok::LeftDelim) {
            let save = p.i;
            p.next();
            if matches!(p.next_non_space().tok, Tok::Define) {
                p.parse_definition()?;
                continue;
            }
            p.i = save;
        }
        match p.text_or_action()? {
            Item::Node(n) => root.push(n),
            Item::End(pos) => return Err(p.err_at(pos, ErrKind::Syntax("unexpected {{end}}"))),
            Item::Else(pos) => return Err(p.err_at(pos, ErrKind::Syntax("unexpected {{else}}"))),
        }
    }
    Ok(Parsed { root, defs: p.defs })
}

impl Parser<'_> {
    fn err_at(&self, pos: usize, kind: ErrKind) -> TemplateError {
        TemplateError::at(self.src, pos, kind, true)
    }

    fn syntax(&self, pos: usize, msg: &'static str) -> TemplateError {
        self.err_at(pos, ErrKind::Syntax(msg))
    }

    fn peek(&self) -> Token {
        match self.toks.get(self.i) {
            Some(t) => t.clone(),
            None => Token {
                tok: Tok::Eof,
                pos: self.src.len(),
            },
        }
    }

    fn next(&mut self) -> Token {
        let t = self.peek();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn check_err(&self, t: &Token) -> Result<(), TemplateError> {
        if let Tok::Error(msg) = t.tok {
            return Err(self.syntax(t.pos, msg));
        }
        Ok(())
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let t = self.next();
            if !matches!(t.tok, Tok::Space) {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let save = self.i;
        let t = self.next_non_space();
        // Go's peekNonSpace consumes the spaces.
        self.i = save;
        while matches!(self.peek().tok, Tok::Space) {
            self.i += 1;
        }
        t
    }

    fn enter(&mut self, pos: usize) -> Result<(), TemplateError> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(self.err_at(pos, ErrKind::Limit(Limit::Depth)));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn unexpected(&self, t: &Token, context: &'static str) -> TemplateError {
        if let Tok::Error(msg) = t.tok {
            return self.syntax(t.pos, msg);
        }
        self.err_at(t.pos, ErrKind::Unexpected(t.tok.describe(), context))
    }

    fn expect_right(&mut self, context: &'static str) -> Result<Token, TemplateError> {
        let t = self.next_non_space();
        if !matches!(t.tok, Tok::RightDelim) {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn parse_definition(&mut self) -> Result<(), TemplateError> {
        let t = self.next_non_space();
        let name = self.template_name(&t, "define clause")?;
        self.expect_right("define clause")?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        if let Item::Else(pos) = end {
            return Err(self.syntax(pos, "unexpected {{else}} in define clause"));
        }
        self.add_def(t.pos, name, list)
    }

    fn add_def(&mut self, pos: usize, name: String, list: List) -> Result<(), TemplateError> {
        let empty_new = is_empty_tree(&list);
        match self.defs.get(&name) {
            Some(existing) if !is_empty_tree(existing) => {
                if !empty_new {
                    return Err(self.syntax(pos, "multiple definition of template"));
                }
            }
            _ => {
                self.defs.insert(name, list);
            }
        }
        Ok(())
    }

    fn template_name(&self, t: &Token, _context: &'static str) -> Result<String, TemplateError> {
        match &t.tok {
            Tok::Str(s) | Tok::RawStr(s) => {
                let b = unquote(s).ok_or_else(|| self.syntax(t.pos, "invalid syntax in string"))?;
                String::from_utf8(b).map_err(|_| self.syntax(t.pos, "invalid template name"))
            }
            _ => Err(self.unexpected(t, "template clause")),
        }
    }

    /// Parses nodes until {{end}} or {{else}}.
    fn item_list(&mut self) -> Result<(List, Item), TemplateError> {
        let mut list = Vec::new();
        loop {
            let t = self.peek_non_space();
            if matches!(t.tok, Tok::Eof) {
                return Err(self.syntax(t.pos, "unexpected EOF"));
            }
            match self.text_or_action()? {
                Item::Node(n) => list.push(n),
                other => return Ok((list, other)),
            }
        }
    }

    fn text_or_action(&mut self) -> Result<Item, TemplateError> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Text(b) => Ok(Item::Node(Node::Text(b))),
            Tok::LeftDelim => {
                self.enter(t.pos)?;
                let r = self.action();
                self.leave();
                r
            }
            _ => Err(self.unexpected(&t, "input")),
        }
    }

    fn action(&mut self) -> Result<Item, TemplateError> {
        let t = self.next_non_space();
        self.check_err(&t)?;
        match t.tok {
            Tok::Block => return self.block_control(),
            Tok::Break => return self.break_control(t.pos, true),
            Tok::Continue => return self.break_control(t.pos, false),
            Tok::Else => return self.else_control(),
            Tok::End => {
                self.expect_right("end")?;
                return Ok(Item::End(t.pos));
            }
            Tok::If => return Ok(Item::Node(Node::If(self.parse_control("if")?))),
            Tok::Range => return Ok(Item::Node(Node::Range(self.parse_control("range")?))),
            Tok::Template => return self.template_control(),
            Tok::With => return Ok(Item::Node(Node::With(self.parse_control("with")?))),
            _ => {}
        }
        self.i -= 1;
        let pipe = self.pipeline("command", true)?;
        Ok(Item::Node(Node::Action(pipe)))
    }

    fn break_control(&mut self, pos: usize, is_break: bool) -> Result<Item, TemplateError> {
        let t = self.next_non_space();
        if !matches!(t.tok, Tok::RightDelim) {
            return Err(self.unexpected(
                &t,
                if is_break {
                    "{{break}}"
                } else {
                    "{{continue}}"
                },
            ));
        }
        if self.range_depth == 0 {
            return Err(self.syntax(
                pos,
                if is_break {
                    "{{break}} outside {{range}}"
                } else {
                    "{{continue}} outside {{range}}"
                },
            ));
        }
        Ok(Item::Node(if is_break {
            Node::Break
        } else {
            Node::Continue
        }))
    }

    fn else_control(&mut self) -> Result<Item, TemplateError> {
        let p = self.peek_non_space();
        if matches!(p.tok, Tok::If | Tok::With) {
            return Ok(Item::Else(p.pos));
        }
        let t = self.expect_right("else")?;
        Ok(Item::Else(t.pos))
    }

    fn template_control(&mut self) -> Result<Item, TemplateError> {
        let t = self.next_non_space();
        let name = self.template_name(&t, "template clause")?;
        let n = self.next_non_space();
        let pipe = if matches!(n.tok, Tok::RightDelim) {
            None
        } else {
            self.i -= 1;
            Some(self.pipeline("template clause", true)?)
        };
        Ok(Item::Node(Node::Template {
            pos: t.pos,
            name,
            pipe,
        }))
    }

    fn block_control(&mut self) -> Result<Item, TemplateError> {
        let t = self.next_non_space();
        let name = self.template_name(&t, "block clause")?;
        let pipe = self.pipeline("block clause", true)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        if let Item::Else(pos) = end {
            return Err(self.syntax(pos, "unexpected {{else}} in block clause"));
        }
        self.add_def(t.pos, name.clone(), list)?;
        Ok(Item::Node(Node::Template {
            pos: t.pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn parse_control(&mut self, context: &'static str) -> Result<Control, TemplateError> {
        let nvars = self.vars.len();
        let r = self.parse_control_inner(context);
        self.vars.truncate(nvars);
        r
    }

    fn parse_control_inner(&mut self, context: &'static str) -> Result<Control, TemplateError> {
        let pipe = self.pipeline(context, true)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        if let Item::Else(epos) = next {
            let p = self.peek();
            if context == "if" && matches!(p.tok, Tok::If) {
                self.next();
                self.enter(epos)?;
                let inner = self.parse_control("if");
                self.leave();
                else_list = Some(vec![Node::If(inner?)]);
            } else if context == "with" && matches!(p.tok, Tok::With) {
                self.next();
                self.enter(epos)?;
                let inner = self.parse_control("with");
                self.leave();
                else_list = Some(vec![Node::With(inner?)]);
            } else {
                let (l, n) = self.item_list()?;
                if let Item::Else(pos) = n {
                    return Err(self.syntax(pos, "expected end; found {{else}}"));
                }
                else_list = Some(l);
            }
        }
        Ok(Control {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    /// Parses a pipeline ending in `}}` (if `delim`) or `)`.
    fn pipeline(&mut self, context: &'static str, delim: bool) -> Result<Pipe, TemplateError> {
        let first = self.peek_non_space();
        let mut pipe = Pipe {
            pos: first.pos,
            decl: Vec::new(),
            is_assign: false,
            cmds: Vec::new(),
        };
        // declarations
        loop {
            let v = self.peek_non_space();
            let Tok::Variable(name) = v.tok.clone() else {
                break;
            };
            let save = self.i;
            self.next();
            let next = self.peek_non_space();
            match next.tok {
                Tok::Assign | Tok::Declare => {
                    pipe.is_assign = matches!(next.tok, Tok::Assign);
                    self.next_non_space();
                    pipe.decl.push(name.clone());
                    self.vars.push(name);
                    break;
                }
                Tok::Char(',') => {
                    self.next_non_space();
                    pipe.decl.push(name.clone());
                    self.vars.push(name);
                    if context == "range" && pipe.decl.len() < 2 {
                        let p = self.peek_non_space();
                        match p.tok {
                            Tok::Variable(_) | Tok::RightDelim | Tok::RightParen => continue,
                            _ => {
                                return Err(
                                    self.syntax(p.pos, "range can only initialize variables")
                                );
                            }
                        }
                    }
                    return Err(self.syntax(next.pos, "too many declarations"));
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        loop {
            let t = self.next_non_space();
            match t.tok {
                Tok::RightDelim if delim => {
                    self.i -= 1;
                    self.check_pipeline(&pipe, context)?;
                    // consume the delimiter
                    self.next();
                    return Ok(pipe);
                }
                Tok::RightParen if !delim => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                Tok::Bool(_)
                | Tok::CharConst(_)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Identifier(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::RawStr(_)
                | Tok::Str(_)
                | Tok::Variable(_)
                | Tok::LeftParen
                | Tok::Complex => {
                    self.i -= 1;
                    let c = self.command()?;
                    pipe.cmds.push(c);
                }
                _ => return Err(self.unexpected(&t, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, _context: &'static str) -> Result<(), TemplateError> {
        if pipe.cmds.is_empty() {
            return Err(self.syntax(pipe.pos, "missing value for pipeline"));
        }
        for c in pipe.cmds.iter().skip(1) {
            if let Some(a) = c.args.first()
                && matches!(
                    a,
                    Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::Str(..)
                )
            {
                return Err(self.syntax(c.pos, "non executable command in pipeline stage"));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> Result<Cmd, TemplateError> {
        let start = self.peek_non_space();
        let mut cmd = Cmd {
            pos: start.pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let t = self.next();
            match t.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => {
                    self.i -= 1;
                }
                Tok::Pipe => {}
                _ => return Err(self.unexpected(&t, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.syntax(cmd.pos, "empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> Result<Option<Arg>, TemplateError> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if matches!(self.peek().tok, Tok::Field(_)) {
            let pos = self.peek().pos;
            let mut fields = Vec::new();
            while let Tok::Field(f) = self.peek().tok {
                self.next();
                fields.push(f);
            }
            return Ok(Some(match node {
                Arg::Field { pos, mut idents } => {
                    idents.extend(fields);
                    Arg::Field { pos, idents }
                }
                Arg::Var {
                    pos,
                    name,
                    fields: mut f0,
                } => {
                    f0.extend(fields);
                    Arg::Var {
                        pos,
                        name,
                        fields: f0,
                    }
                }
                Arg::Bool(..) | Arg::Str(..) | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                    return Err(self.syntax(pos, "unexpected . after term"));
                }
                other => Arg::Chain {
                    pos,
                    node: Box::new(other),
                    fields,
                },
            }));
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> Result<Option<Arg>, TemplateError> {
        let t = self.next_non_space();
        self.check_err(&t)?;
        let pos = t.pos;
        Ok(Some(match t.tok {
            Tok::Identifier(name) => {
                if funcs::lookup(&name).is_none() {
                    return Err(self.err_at(pos, ErrKind::FuncNotDefined(name)));
                }
                Arg::Ident { pos, name }
            }
            Tok::Dot => Arg::Dot(pos),
            Tok::Nil => Arg::Nil(pos),
            Tok::Variable(name) => {
                if !self.vars.contains(&name) {
                    return Err(self.syntax(pos, "undefined variable"));
                }
                Arg::Var {
                    pos,
                    name,
                    fields: Vec::new(),
                }
            }
            Tok::Field(f) => Arg::Field {
                pos,
                idents: vec![f],
            },
            Tok::Bool(b) => Arg::Bool(pos, b),
            Tok::Number(text) => {
                let n =
                    parse_number(&text).ok_or_else(|| self.syntax(pos, "illegal number syntax"))?;
                Arg::Number(pos, n)
            }
            Tok::CharConst(text) => {
                let b = unquote(&text)
                    .ok_or_else(|| self.syntax(pos, "invalid syntax in character constant"))?;
                let s = std::str::from_utf8(&b).ok();
                let mut it = s.map(|s| s.chars()).into_iter().flatten();
                let c = match (it.next(), it.next()) {
                    (Some(c), None) => c,
                    _ => {
                        // a \x escape yields one byte
                        match b.as_slice() {
                            [x] => char::from(*x),
                            _ => return Err(self.syntax(pos, "invalid character constant")),
                        }
                    }
                };
                let v = i64::from(u32::from(c));
                Arg::Number(
                    pos,
                    Number {
                        is_int: true,
                        is_float: true,
                        int: v,
                        float: v as f64,
                        float_syntax: false,
                        uint_only: false,
                    },
                )
            }
            Tok::Complex => return Err(self.syntax(pos, "complex numbers are not supported")),
            Tok::LeftParen => {
                self.enter(pos)?;
                let p = self.pipeline("parenthesized pipeline", false);
                self.leave();
                Arg::Pipe(Box::new(p?))
            }
            Tok::Str(s) | Tok::RawStr(s) => {
                let b = unquote(&s).ok_or_else(|| self.syntax(pos, "invalid syntax in string"))?;
                Arg::Str(pos, b)
            }
            _ => {
                self.i -= 1;
                return Ok(None);
            }
        }))
    }
}

fn is_empty_tree(l: &List) -> bool {
    l.iter().all(|n| match n {
        Node::Text(t) => t.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')),
        _ => false,
    })
}

/// Go's `strconv.Unquote` for "...", `...` and '...' literals.
pub(crate) fn unquote(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let (&q, rest) = b.split_first()?;
    let (&last, inner) = rest.split_last()?;
    if q != last {
        return None;
    }
    if q == b'`' {
        return Some(inner.iter().copied().filter(|c| *c != b'\r').collect());
    }
    if q != b'"' && q != b'\'' {
        return None;
    }
    let inner_s = std::str::from_utf8(inner).ok()?;
    let mut out = Vec::with_capacity(inner.len());
    let mut chars = inner_s.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c == '\n' {
            return None;
        }
        if c == q as char {
            return None;
        }
        if c != '\\' {
            let mut tmp = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            continue;
        }
        let (_, e) = chars.next()?;
        match e {
            'a' => out.push(7),
            'b' => out.push(8),
            'f' => out.push(12),
            'n' => out.push(b'\n'),
            'r' => out.push(b'\r'),
            't' => out.push(b'\t'),
            'v' => out.push(11),
            '\\' => out.push(b'\\'),
            '\'' | '"' => {
                if e as u32 != u32::from(q) {
                    return None;
                }
                out.push(e as u8);
            }
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut v: u32 = 0;
                for _ in 0..n {
                    let (_, h) = chars.next()?;
                    v = v.checked_mul(16)?.checked_add(h.to_digit(16)?)?;
                }
                if e == 'x' {
                    out.push(u8::try_from(v).ok()?);
                } else {
                    let c = char::from_u32(v)?;
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
            }
            '0'..='7' => {
                let mut v = e.to_digit(8)?;
                for _ in 0..2 {
                    let (_, h) = chars.next()?;
                    v = v * 8 + h.to_digit(8)?;
                }
                out.push(u8::try_from(v).ok()?);
            }
            _ => return None,
        }
    }
    if q == b'\'' {
        // must be exactly one character
        let ok = match std::str::from_utf8(&out) {
            Ok(s) => s.chars().count() == 1,
            Err(_) => out.len() == 1,
        };
        if !ok {
            return None;
        }
    }
    Some(out)
}
