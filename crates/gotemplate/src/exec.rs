//! Evaluator mirroring Go's `text/template/exec.go`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::format;
use super::funcs::{self, Imp, PT};
use super::number::Number;
use super::parse::{Arg, Cmd, Control, List, Node, Parsed, Pipe};
use super::value::{ElemTy, GoObject, IntTy, MapData, MapRef, Runtime, SecretBytes, Value};
use super::{Budget, ErrKind, Limit, TemplateError};

enum Flow {
    Break,
    Continue,
    Err(TemplateError),
}

impl From<TemplateError> for Flow {
    fn from(e: TemplateError) -> Self {
        Flow::Err(e)
    }
}

type R<T> = Result<T, TemplateError>;

pub(crate) struct Exec<'a> {
    parsed: &'a Parsed,
    src: &'a str,
    budget: &'a mut Budget,
    pub(crate) out: SecretBytes,
    vars: Vec<(String, Value)>,
    depth: usize,
    maps: Vec<MapRef>,
}

impl Drop for Exec<'_> {
    fn drop(&mut self) {
        // Break any reference cycles created through `set` and friends.
        for m in &self.maps {
            if let Ok(mut m) = m.try_borrow_mut() {
                m.entries.clear();
            }
        }
        self.vars.clear();
    }
}

impl<'a> Exec<'a> {
    pub(crate) fn new(parsed: &'a Parsed, src: &'a str, budget: &'a mut Budget) -> Self {
        Exec {
            parsed,
            src,
            budget,
            out: SecretBytes::default(),
            vars: Vec::new(),
            depth: 0,
            maps: Vec::new(),
        }
    }

    fn err(&self, pos: usize, kind: ErrKind) -> TemplateError {
        TemplateError::at(self.src, pos, kind, false)
    }

    pub(crate) fn run(&mut self, data: Value) -> R<()> {
        self.vars.push(("$".into(), data.clone()));
        let parsed = self.parsed;
        match self.walk_list(&data, &parsed.root) {
            Ok(()) => Ok(()),
            Err(Flow::Err(e)) => Err(e),
            Err(_) => Err(self.err(0, ErrKind::Exec("break or continue outside range".into()))),
        }
    }

    fn write(&mut self, pos: usize, b: &[u8]) -> R<()> {
        if self.out.len().saturating_add(b.len()) > self.budget.output_left() {
            return Err(self.err(pos, ErrKind::Limit(Limit::Output)));
        }
        self.out.extend(b);
        Ok(())
    }

    fn walk_list(&mut self, dot: &Value, list: &List) -> Result<(), Flow> {
        for n in list {
            self.walk(dot, n)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, node: &Node) -> Result<(), Flow> {
        match node {
            Node::Text(t) => {
                self.step().map_err(|k| self.err(0, k))?;
                self.write(0, t)?;
            }
            Node::Action(pipe) => {
                self.step().map_err(|k| self.err(pipe.pos, k))?;
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    let mut buf = SecretBytes::default();
                    if matches!(v, Value::Invalid) {
                        buf.push_str("<no value>");
                    } else {
                        format::print_value(&mut buf, &v, self.budget.output_left())
                            .map_err(|k| self.err(pipe.pos, k))?;
                    }
                    self.write(pipe.pos, buf.as_bytes())?;
                }
            }
            Node::If(c) | Node::With(c) => {
                let is_with = matches!(node, Node::With(_));
                self.step().map_err(|k| self.err(c.pos, k))?;
                self.enter(c.pos)?;
                let mark = self.vars.len();
                let r = self.walk_if_with(dot, c, is_with);
                self.vars.truncate(mark);
                self.depth -= 1;
                r?;
            }
            Node::Range(c) => {
                self.step().map_err(|k| self.err(c.pos, k))?;
                self.enter(c.pos)?;
                let mark = self.vars.len();
                let r = self.walk_range(dot, c);
                self.vars.truncate(mark);
                self.depth -= 1;
                r?;
            }
            Node::Template { pos, name, pipe } => {
                self.step().map_err(|k| self.err(*pos, k))?;
                let parsed = self.parsed;
                let Some(body) = parsed.defs.get(name) else {
                    return Err(self
                        .err(*pos, ErrKind::Exec("template not defined".into()))
                        .into());
                };
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Invalid,
                };
                self.enter(*pos)?;
                let saved = std::mem::replace(&mut self.vars, vec![("$".into(), new_dot.clone())]);
                let r = self.walk_list(&new_dot, body);
                self.vars = saved;
                self.depth -= 1;
                match r {
                    Ok(()) => {}
                    Err(Flow::Err(e)) => return Err(Flow::Err(e)),
                    Err(_) => {
                        return Err(self
                            .err(
                                *pos,
                                ErrKind::Exec("break or continue outside range".into()),
                            )
                            .into());
                    }
                }
            }
            Node::Break => return Err(Flow::Break),
            Node::Continue => return Err(Flow::Continue),
        }
        Ok(())
    }

    fn enter(&mut self, pos: usize) -> R<()> {
        self.depth += 1;
        if self.depth > self.budget.max_depth() {
            self.depth -= 1;
            return Err(self.err(pos, ErrKind::Limit(Limit::Depth)));
        }
        Ok(())
    }

    fn walk_if_with(&mut self, dot: &Value, c: &Control, is_with: bool) -> Result<(), Flow> {
        let val = self.eval_pipeline(dot, &c.pipe)?;
        if val.truth() {
            if is_with {
                self.walk_list(&val, &c.list)
            } else {
                self.walk_list(dot, &c.list)
            }
        } else if let Some(e) = &c.else_list {
            self.walk_list(dot, e)
        } else {
            Ok(())
        }
    }

    fn walk_range(&mut self, dot: &Value, c: &Control) -> Result<(), Flow> {
        let val = self.eval_pipeline(dot, &c.pipe)?;
        let mark = self.vars.len();
        let ndecl = c.pipe.decl.len();
        let mut items: Vec<(Value, Value)> = Vec::new();
        match &val {
            Value::List(l) => {
                for (i, v) in l.items.iter().enumerate() {
                    items.push((Value::int(i64::try_from(i).unwrap_or(i64::MAX)), v.clone()));
                }
            }
            Value::Map(m) => {
                let m = m
                    .try_borrow()
                    .map_err(|_| self.err(c.pos, ErrKind::Exec("map in use".into())))?;
                for (k, v) in &m.entries {
                    items.push((Value::string(k.clone()), v.clone()));
                }
            }
            Value::Int(n, t) => {
                if ndecl > 1 {
                    return Err(self
                        .err(
                            c.pos,
                            ErrKind::Exec(
                                "can't use int to iterate over more than one variable".into(),
                            ),
                        )
                        .into());
                }
                if *n > 0 {
                    let n = *n;
                    let t = *t;
                    // Iterated lazily: work is charged per iteration.
                    return self.range_lazy_int(dot, c, n, t, mark);
                }
            }
            Value::Invalid => {}
            other => {
                return Err(self
                    .err(
                        c.pos,
                        ErrKind::Exec(format!(
                            "range can't iterate over value of type {}",
                            other.type_name()
                        )),
                    )
                    .into());
            }
        }
        if items.is_empty() {
            if let Some(e) = &c.else_list {
                return self.walk_list(dot, e);
            }
            return Ok(());
        }
        for (idx, elem) in items {
            if self.one_iteration(c, mark, ndecl, idx, elem)? {
                break;
            }
        }
        Ok(())
    }

    fn range_lazy_int(
        &mut self,
        _dot: &Value,
        c: &Control,
        n: i64,
        t: IntTy,
        mark: usize,
    ) -> Result<(), Flow> {
        let mut i = 0i64;
        while i < n {
            if self.one_iteration(c, mark, c.pipe.decl.len(), Value::Invalid, Value::Int(i, t))? {
                break;
            }
            i += 1;
        }
        Ok(())
    }

    /// Returns Ok(true) on break.
    fn one_iteration(
        &mut self,
        c: &Control,
        mark: usize,
        ndecl: usize,
        idx: Value,
        elem: Value,
    ) -> Result<bool, Flow> {
        self.step().map_err(|k| self.err(c.pos, k))?;
        let len = self.vars.len();
        if ndecl > 0
            && let Some(v) = len.checked_sub(1).and_then(|i| self.vars.get_mut(i))
        {
            v.1 = elem.clone();
        }
        if ndecl > 1
            && let Some(v) = len.checked_sub(2).and_then(|i| self.vars.get_mut(i))
        {
            v.1 = idx;
        }
        let r = self.walk_list(&elem, &c.list);
        self.vars.truncate(mark);
        match r {
            Ok(()) | Err(Flow::Continue) => Ok(false),
            Err(Flow::Break) => Ok(true),
            Err(e) => Err(e),
        }
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &Pipe) -> R<Value> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            value = Some(v.unwrap_iface());
        }
        let value = value.unwrap_or(Value::Invalid);
        for name in &pipe.decl {
            if pipe.is_assign {
                let slot = self.vars.iter_mut().rev().find(|(n, _)| n == name);
                match slot {
                    Some(s) => s.1 = value.clone(),
                    None => {
                        return Err(self.err(pipe.pos, ErrKind::Exec("undefined variable".into())));
                    }
                }
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, pos: usize, args: &[Arg], fin: &Option<Value>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return Err(self.err(
                pos,
                ErrKind::Exec("can't give argument to non-function".into()),
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &Cmd, fin: Option<Value>) -> R<Value> {
        self.step().map_err(|k| self.err(cmd.pos, k))?;
        let Some(first) = cmd.args.first() else {
            return Err(self.err(cmd.pos, ErrKind::Exec("empty command".into())));
        };
        match first {
            Arg::Field { pos, idents } => {
                self.eval_field_chain(dot, dot.clone(), *pos, idents, &cmd.args, fin)
            }
            Arg::Chain { pos, node, fields } => {
                let recv = self.eval_arg_untyped(dot, node)?;
                self.eval_field_chain(dot, recv, *pos, fields, &cmd.args, fin)
            }
            Arg::Ident { pos, name } => {
                self.eval_function(dot, *pos, name, cmd.args.get(1..).unwrap_or(&[]), fin)
            }
            Arg::Pipe(p) => {
                self.not_a_function(p.pos, &cmd.args, &fin)?;
                self.enter(p.pos)?;
                let r = self.eval_pipeline(dot, p);
                self.depth -= 1;
                r
            }
            Arg::Var { pos, name, fields } => {
                self.eval_variable(dot, *pos, name, fields, &cmd.args, fin)
            }
            Arg::Bool(pos, b) => {
                self.not_a_function(*pos, &cmd.args, &fin)?;
                Ok(Value::Bool(*b))
            }
            Arg::Dot(pos) => {
                self.not_a_function(*pos, &cmd.args, &fin)?;
                Ok(dot.clone())
            }
            Arg::Nil(pos) => {
                self.not_a_function(*pos, &cmd.args, &fin)?;
                Err(self.err(*pos, ErrKind::Exec("nil is not a command".into())))
            }
            Arg::Number(pos, n) => {
                self.not_a_function(*pos, &cmd.args, &fin)?;
                self.ideal_constant(*pos, n)
            }
            Arg::Str(pos, s) => {
                self.not_a_function(*pos, &cmd.args, &fin)?;
                self.alloc(s.len()).map_err(|k| self.err(*pos, k))?;
                Ok(Value::str(s))
            }
        }
    }

    fn ideal_constant(&self, pos: usize, n: &Number) -> R<Value> {
        if n.is_float && n.float_syntax {
            return Ok(Value::Float(n.float));
        }
        if n.is_int {
            return Ok(Value::int(n.int));
        }
        Err(self.err(pos, ErrKind::Exec("number overflows int".into())))
    }

    fn eval_variable(
        &mut self,
        dot: &Value,
        pos: usize,
        name: &str,
        fields: &[String],
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let Some(v) = self
            .vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
        else {
            return Err(self.err(pos, ErrKind::Exec("undefined variable".into())));
        };
        if fields.is_empty() {
            self.not_a_function(pos, args, &fin)?;
            return Ok(v);
        }
        self.eval_field_chain(dot, v, pos, fields, args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Value,
        mut recv: Value,
        pos: usize,
        idents: &[String],
        args: &[Arg],
        mut fin: Option<Value>,
    ) -> R<Value> {
        let n = idents.len();
        for (i, name) in idents.iter().enumerate() {
            let last = i + 1 == n;
            if let Value::Object(o) = &recv {
                let o = o.clone();
                let call_args = if last {
                    args.get(1..).unwrap_or(&[])
                } else {
                    &[]
                };
                let fin = if last { fin.take() } else { None };
                recv = self.eval_method(dot, pos, &o, name, call_args, fin)?;
                continue;
            }
            let has_args = last && (args.len() > 1 || fin.is_some());
            recv = self.eval_field(pos, name, recv, has_args)?;
        }
        Ok(recv)
    }

    /// A field or method of a Go value that a Sprig function returned.
    fn eval_method(
        &mut self,
        dot: &Value,
        pos: usize,
        o: &Rc<dyn GoObject>,
        name: &str,
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let Some(params) = o.params(name) else {
            return Err(self.err(
                pos,
                ErrKind::Exec(format!(
                    "can't evaluate field {name} in type {}",
                    o.type_name()
                )),
            ));
        };
        let num_in = args.len() + usize::from(fin.is_some());
        if num_in != params.len() {
            return Err(self.err(
                pos,
                ErrKind::Exec(format!(
                    "wrong number of args for {name}: want {} got {num_in}",
                    params.len()
                )),
            ));
        }
        let mut argv = Vec::with_capacity(num_in);
        for (a, pt) in args.iter().zip(params) {
            argv.push(self.eval_arg(dot, *pt, a)?);
        }
        if let (Some(f), Some(pt)) = (fin, params.last()) {
            argv.push(self.validate(pos, f, *pt)?);
        }
        self.step().map_err(|k| self.err(pos, k))?;
        o.call(self, name, argv).map_err(|k| match k {
            ErrKind::Exec(msg) => self.err(pos, ErrKind::Call(name.to_string(), msg)),
            other => self.err(pos, other),
        })
    }

    fn eval_field(&mut self, pos: usize, name: &str, recv: Value, has_args: bool) -> R<Value> {
        match recv {
            Value::Invalid => Ok(Value::Invalid),
            Value::Nil => Err(self.err(
                pos,
                ErrKind::Exec(format!("nil pointer evaluating interface {{}}.{name}")),
            )),
            Value::Map(m) => {
                if has_args {
                    return Err(self.err(
                        pos,
                        ErrKind::Exec(format!("{name} is not a method but has arguments")),
                    ));
                }
                let m = m
                    .try_borrow()
                    .map_err(|_| self.err(pos, ErrKind::Exec("map in use".into())))?;
                Ok(m.entries
                    .get(&SecretBytes::from_slice(name.as_bytes()))
                    .cloned()
                    .unwrap_or(Value::Invalid))
            }
            other => Err(self.err(
                pos,
                ErrKind::Exec(format!(
                    "can't evaluate field {name} in type {}",
                    other.type_name()
                )),
            )),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        pos: usize,
        name: &str,
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let Some(func) = funcs::lookup(name) else {
            return Err(self.err(pos, ErrKind::FuncNotDefined(name.to_string())));
        };
        let call = match func.imp {
            Imp::Call(call) => call,
            Imp::ShortCircuit => {
                if args.is_empty() && fin.is_none() {
                    return Err(self.err(
                        pos,
                        ErrKind::Exec(format!(
                            "wrong number of args for {name}: want at least 1 got 0"
                        )),
                    ));
                }
                let want = name == "or";
                let mut v = Value::Invalid;
                for a in args {
                    v = self.eval_arg(dot, PT::Val, a)?;
                    if v.truth() == want {
                        return Ok(v);
                    }
                }
                if let Some(f) = fin {
                    v = f;
                }
                return Ok(v);
            }
        };
        let sig = &func.sig;
        let num_in = args.len() + usize::from(fin.is_some());
        let nfixed = sig.fixed.len();
        match sig.variadic {
            Some(_) if num_in < nfixed => {
                return Err(self.err(
                    pos,
                    ErrKind::Exec(format!(
                        "wrong number of args for {name}: want at least {nfixed} got {num_in}"
                    )),
                ));
            }
            None if num_in != nfixed => {
                return Err(self.err(
                    pos,
                    ErrKind::Exec(format!(
                        "wrong number of args for {name}: want {nfixed} got {num_in}"
                    )),
                ));
            }
            _ => {}
        }
        let mut argv = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            let pt = sig
                .fixed
                .get(i)
                .copied()
                .or(sig.variadic)
                .unwrap_or(PT::Any);
            argv.push(self.eval_arg(dot, pt, a)?);
        }
        if let Some(f) = fin {
            let pt = sig
                .fixed
                .get(args.len())
                .copied()
                .or(sig.variadic)
                .unwrap_or(PT::Any);
            argv.push(self.validate(pos, f, pt)?);
        }
        self.step().map_err(|k| self.err(pos, k))?;
        call(self, name, argv).map_err(|k| match k {
            ErrKind::Limit(_) => self.err(pos, k),
            ErrKind::Exec(msg) => self.err(pos, ErrKind::Call(name.to_string(), msg)),
            other => self.err(pos, other),
        })
    }

    fn eval_arg_untyped(&mut self, dot: &Value, a: &Arg) -> R<Value> {
        match a {
            Arg::Ident { pos, name } => self.eval_function(dot, *pos, name, &[], None),
            Arg::Pipe(p) => {
                self.enter(p.pos)?;
                let r = self.eval_pipeline(dot, p);
                self.depth -= 1;
                r
            }
            other => self.eval_arg(dot, PT::Val, other),
        }
    }

    fn eval_arg(&mut self, dot: &Value, pt: PT, a: &Arg) -> R<Value> {
        let pos = a.pos();
        match a {
            Arg::Dot(_) => return self.validate(pos, dot.clone(), pt),
            Arg::Nil(_) => {
                return match pt {
                    PT::Any | PT::Map => Ok(Value::Nil),
                    PT::Val => Ok(Value::Invalid),
                    _ => Err(self.err(
                        pos,
                        ErrKind::Exec(format!("cannot assign nil to {}", pt.name())),
                    )),
                };
            }
            Arg::Field { idents, .. } => {
                let v = self.eval_field_chain(dot, dot.clone(), pos, idents, &[], None)?;
                return self.validate(pos, v, pt);
            }
            Arg::Var { name, fields, .. } => {
                let v = self.eval_variable(dot, pos, name, fields, &[], None)?;
                return self.validate(pos, v, pt);
            }
            Arg::Pipe(p) => {
                self.enter(pos)?;
                let v = self.eval_pipeline(dot, p);
                self.depth -= 1;
                return self.validate(pos, v?, pt);
            }
            Arg::Ident { name, .. } => {
                let v = self.eval_function(dot, pos, name, &[], None)?;
                return self.validate(pos, v, pt);
            }
            Arg::Chain { node, fields, .. } => {
                let recv = self.eval_arg_untyped(dot, node)?;
                let v = self.eval_field_chain(dot, recv, pos, fields, &[], None)?;
                return self.validate(pos, v, pt);
            }
            _ => {}
        }
        match (pt, a) {
            (PT::Bool, Arg::Bool(_, b)) => Ok(Value::Bool(*b)),
            (PT::Bool, _) => Err(self.err(pos, ErrKind::Exec("expected bool".into()))),
            (PT::Float, Arg::Number(_, n)) if n.is_float => Ok(Value::Float(n.float)),
            (PT::Float, _) => Err(self.err(pos, ErrKind::Exec("expected float".into()))),
            (PT::Int, Arg::Number(_, n)) if n.is_int => Ok(Value::int(n.int)),
            (PT::Int, _) => Err(self.err(pos, ErrKind::Exec("expected integer".into()))),
            // Go stores the constant with reflect's SetUint, which truncates to 32 bits
            (PT::Uint32, Arg::Number(_, n)) if (n.is_int && n.int >= 0) || n.uint_only => {
                let v = if n.uint_only {
                    n.float as u64
                } else {
                    n.int as u64
                };
                Ok(Value::int(i64::from(v as u32)))
            }
            (PT::Uint32, _) => {
                Err(self.err(pos, ErrKind::Exec("expected unsigned integer".into())))
            }
            (PT::Str, Arg::Str(_, s)) => {
                self.alloc(s.len()).map_err(|k| self.err(pos, k))?;
                Ok(Value::str(s))
            }
            (PT::Str, _) => Err(self.err(pos, ErrKind::Exec("expected string".into()))),
            (PT::Any | PT::Val, Arg::Bool(_, b)) => Ok(Value::Bool(*b)),
            (PT::Any | PT::Val, Arg::Number(_, n)) => self.ideal_constant(pos, n),
            (PT::Any | PT::Val, Arg::Str(_, s)) => {
                self.alloc(s.len()).map_err(|k| self.err(pos, k))?;
                Ok(Value::str(s))
            }
            _ => Err(self.err(
                pos,
                ErrKind::Exec(format!("can't handle argument of type {}", pt.name())),
            )),
        }
    }

    fn validate(&self, pos: usize, v: Value, pt: PT) -> R<Value> {
        let wrong = |v: &Value| {
            self.err(
                pos,
                ErrKind::Exec(format!(
                    "wrong type for value; expected {}; got {}",
                    pt.name(),
                    if matches!(v, Value::Nil) {
                        "interface {}".to_string()
                    } else {
                        v.type_name()
                    }
                )),
            )
        };
        if matches!(v, Value::Invalid) {
            return match pt {
                PT::Any | PT::Map => Ok(Value::Nil),
                PT::Val => Ok(Value::Invalid),
                _ => Err(self.err(
                    pos,
                    ErrKind::Exec(format!("invalid value; expected {}", pt.name())),
                )),
            };
        }
        match pt {
            PT::Any => Ok(v),
            PT::Val => Ok(v),
            PT::Str if matches!(v, Value::Str(_)) => Ok(v),
            PT::Int if matches!(v, Value::Int(_, IntTy::Int)) => Ok(v),
            PT::Float if matches!(v, Value::Float(_)) => Ok(v),
            PT::Bool if matches!(v, Value::Bool(_)) => Ok(v),
            PT::Map => match &v {
                Value::Nil => Ok(v),
                Value::Map(m)
                    if m.try_borrow()
                        .map(|m| m.elem == ElemTy::Any)
                        .unwrap_or(false) =>
                {
                    Ok(v)
                }
                _ => Err(wrong(&v)),
            },
            _ => Err(wrong(&v)),
        }
    }
}

impl Runtime for Exec<'_> {
    /// Creates a new map value and registers it for cycle breaking.
    fn new_map(
        &mut self,
        elem: ElemTy,
        entries: BTreeMap<SecretBytes, Value>,
    ) -> Result<Value, ErrKind> {
        self.alloc(64usize.saturating_mul(entries.len().saturating_add(1)))?;
        let m = Rc::new(RefCell::new(MapData { elem, entries }));
        self.maps.push(m.clone());
        Ok(Value::Map(m))
    }

    /// Charges `n` bytes of allocation (memory, and the work of filling them).
    fn alloc(&mut self, n: usize) -> Result<(), ErrKind> {
        self.budget.charge_memory(n)?;
        self.budget.charge_bytes(n)
    }

    /// The largest intermediate value still affordable.
    fn memory_left(&self) -> usize {
        self.budget.memory_left()
    }

    /// Charges for a list of `n` elements.
    fn alloc_list(&mut self, n: usize) -> Result<(), ErrKind> {
        if n > self.budget.max_list() {
            return Err(ErrKind::Limit(Limit::ListSize));
        }
        self.alloc(n.saturating_mul(32))
    }

    /// Counts one evaluation step.
    fn step(&mut self) -> Result<(), ErrKind> {
        self.budget.charge_work(1)
    }

    /// Charges `units` of work done inside a function's loop.
    fn charge(&mut self, units: u64) -> Result<(), ErrKind> {
        self.budget.charge_work(units)
    }

    /// Charges a scan over `bytes` bytes.
    fn charge_scan(&mut self, bytes: usize) -> Result<(), ErrKind> {
        self.budget.charge_bytes(bytes)
    }

    /// Charges an operation that runs in one step, refused unless `expected` time is left.
    fn charge_step(&mut self, units: u64, expected: std::time::Duration) -> Result<(), ErrKind> {
        self.budget.charge_step(units, expected)
    }
}
