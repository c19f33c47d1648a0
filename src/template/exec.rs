//! The executor: walks a tree against a dot value with Go's `text/template` semantics
//! (variable scoping, `missingkey=zero`, method-before-key lookup on maps, final-argument
//! pipelines, short-circuit `and`/`or`, `break`/`continue`, bounded `template` recursion).

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use super::ast::{Arg, Cmd, Node, Num, Pipe, Source, Tree};
use super::escape::apply_escapers;
use super::funcs::{self, Env, Func, P};
use super::printf::{pairs_string, print_arg};
use super::timefmt::{go_format, time_string};
use super::value::{AlertList, KvRef, Str, StrKind, Value};

/// Deepest chain of nested `{{ template }}` calls accepted (Go allows 100000 on a growable
/// stack; we bound it lower so a runaway recursion is an error, never a stack overflow).
pub const MAX_EXEC_DEPTH: usize = 300;

/// A template set keyed by name.
pub(crate) type Set = HashMap<Arc<str>, Arc<Tree>>;

/// A render error with enough context to report `file:line:col` and the failing action.
#[derive(Debug)]
pub(crate) struct ExecErr {
    pub(crate) src: Arc<Source>,
    pub(crate) name: Arc<str>,
    pub(crate) pos: usize,
    pub(crate) end: usize,
    pub(crate) msg: String,
}

type R<T> = Result<T, Box<ExecErr>>;

enum Flow {
    Normal,
    Break,
    Continue,
}

pub(crate) struct Exec<'a> {
    set: &'a Set,
    out: String,
    vars: Vec<(&'a str, Value<'a>)>,
    /// Index in `vars` where the current template's variables start (no dynamic scoping).
    frame: usize,
    depth: usize,
    env: Env,
    tree: &'a Tree,
    /// Span of the command being evaluated, for messages.
    span: (usize, usize),
}

/// Executes `tree` with `dot` and returns the output.
pub(crate) fn execute<'a>(
    set: &'a Set,
    tree: &'a Tree,
    dot: Value<'a>,
    env: Env,
) -> Result<String, Box<ExecErr>> {
    let mut ex = Exec {
        set,
        out: String::with_capacity(256),
        vars: vec![("$", dot.clone())],
        frame: 0,
        depth: 0,
        env,
        tree,
        span: (0, 0),
    };
    ex.walk(&dot, &tree.root)?;
    Ok(ex.out)
}

fn fields_err(name: &str, v: &Value<'_>) -> String {
    format!("can't evaluate field {name} in type {}", v.type_name())
}

impl<'a> Exec<'a> {
    fn err<T>(&self, msg: impl Into<String>) -> R<T> {
        Err(Box::new(ExecErr {
            src: self.tree.src.clone(),
            name: self.tree.name.clone(),
            pos: self.span.0,
            end: self.span.1,
            msg: msg.into(),
        }))
    }

    fn walk(&mut self, dot: &Value<'a>, list: &'a [Node]) -> R<Flow> {
        for node in list {
            match node {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(pipe) => {
                    self.span = (pipe.pos, pipe.end);
                    let v = self.pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        if pipe.esc.is_empty() {
                            self.print(&v);
                        } else {
                            let s = apply_escapers(&pipe.esc, v, &self.env.zone);
                            self.out.push_str(&s);
                        }
                    }
                }
                Node::If(b) | Node::With(b) => {
                    let is_with = matches!(node, Node::With(_));
                    let mark = self.vars.len();
                    self.span = (b.pipe.pos, b.pipe.end);
                    let v = self.pipeline(dot, &b.pipe)?;
                    let flow = if v.truth() {
                        if is_with {
                            self.walk(&v, &b.list)?
                        } else {
                            self.walk(dot, &b.list)?
                        }
                    } else if let Some(e) = &b.else_list {
                        self.walk(dot, e)?
                    } else {
                        Flow::Normal
                    };
                    self.vars.truncate(mark);
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Range(b) => {
                    let mark = self.vars.len();
                    self.span = (b.pipe.pos, b.pipe.end);
                    let v = self.pipeline(dot, &b.pipe)?;
                    let ran = self.range(&v, b)?;
                    if !ran && let Some(e) = &b.else_list {
                        let flow = self.walk(dot, e)?;
                        self.vars.truncate(mark);
                        if !matches!(flow, Flow::Normal) {
                            return Ok(flow);
                        }
                    }
                    self.vars.truncate(mark);
                }
                Node::Template { pos, name, pipe } => {
                    self.span = (*pos, pipe.as_ref().map_or(*pos, |p| p.end));
                    let Some(tree) = self.set.get(name) else {
                        return self.err(format!("template {:?} not defined", &**name));
                    };
                    if self.depth >= MAX_EXEC_DEPTH {
                        return self.err(format!(
                            "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
                        ));
                    }
                    let new_dot = match pipe {
                        Some(p) => self.pipeline(dot, p)?,
                        None => Value::Nil,
                    };
                    let saved_frame = self.frame;
                    self.frame = self.vars.len();
                    self.vars.push(("$", new_dot.clone()));
                    let saved_tree = std::mem::replace(&mut self.tree, tree);
                    self.depth += 1;
                    let r = self.walk(&new_dot, &tree.root);
                    self.depth -= 1;
                    self.tree = saved_tree;
                    self.vars.truncate(self.frame);
                    self.frame = saved_frame;
                    r?;
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    /// Runs the body of a range once per element; returns whether there was any element.
    fn range(&mut self, v: &Value<'a>, b: &'a super::ast::Branch) -> R<bool> {
        let n = match v {
            Value::Alerts(l) => l.len(),
            Value::Strings(x, _) => x.len(),
            Value::List(x) => x.len(),
            Value::Pairs(x) => x.len(),
            Value::Kv(k) => k.kv().len(),
            Value::Dict(m) => m.len(),
            Value::Int(i) => {
                if b.pipe.decl.len() > 1 {
                    return self.err("can't use two variables when ranging over an integer");
                }
                (*i).max(0) as usize
            }
            Value::Nil => 0,
            other => {
                let mut s = String::new();
                print_arg(&mut s, other, 'v', &self.env.zone);
                let s = s.strip_prefix('&').unwrap_or(&s);
                return self.err(format!("range can't iterate over {s}"));
            }
        };
        if n == 0 {
            return Ok(false);
        }
        let kv_entries: Vec<(Value<'a>, Value<'a>)> = match v {
            Value::Kv(KvRef::B(k)) => {
                k.0.iter()
                    .map(|(a, b)| (Value::str(a), Value::str(b)))
                    .collect()
            }
            Value::Kv(KvRef::S(k)) => {
                k.0.iter()
                    .map(|(a, b)| (Value::string(a.clone()), Value::string(b.clone())))
                    .collect()
            }
            Value::Dict(m) => m
                .iter()
                .map(|(a, b)| (Value::string(a.clone()), b.clone()))
                .collect(),
            _ => Vec::new(),
        };
        let mark = self.vars.len();
        for i in 0..n {
            let (key, elem) = match v {
                Value::Alerts(l) => (
                    Value::Int(i as i64),
                    l.get(i).map(Value::Alert).unwrap_or(Value::Nil),
                ),
                Value::Strings(x, _) => (
                    Value::Int(i as i64),
                    Value::Str(x[i].clone(), StrKind::Plain),
                ),
                Value::List(x) => (Value::Int(i as i64), x[i].clone()),
                Value::Pairs(x) => (
                    Value::Int(i as i64),
                    Value::Pair(x[i].0.clone(), x[i].1.clone()),
                ),
                Value::Int(_) => (Value::Int(i as i64), Value::Int(i as i64)),
                _ => kv_entries[i].clone(),
            };
            let decl = &b.pipe.decl;
            if b.pipe.is_assign {
                if let Some(first) = decl.first() {
                    if decl.len() == 1 {
                        self.set_var(first, elem.clone())?;
                    } else {
                        self.set_var(first, key.clone())?;
                    }
                }
                if decl.len() > 1 {
                    self.set_var(&decl[1], elem.clone())?;
                }
            } else {
                let top = self.vars.len();
                if !decl.is_empty() && top >= 1 {
                    self.vars[top - 1].1 = elem.clone();
                }
                if decl.len() > 1 && top >= 2 {
                    self.vars[top - 2].1 = key;
                }
            }
            let flow = self.walk(&elem, &b.list)?;
            self.vars.truncate(mark);
            if matches!(flow, Flow::Break) {
                break;
            }
        }
        Ok(true)
    }

    fn set_var(&mut self, name: &str, v: Value<'a>) -> R<()> {
        match self.vars[self.frame..]
            .iter_mut()
            .rev()
            .find(|(n, _)| *n == name)
        {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => self.err(format!("undefined variable: {name}")),
        }
    }

    fn var(&self, name: &str) -> R<Value<'a>> {
        match self.vars[self.frame..]
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
        {
            Some((_, v)) => Ok(v.clone()),
            None => self.err(format!("undefined variable: {name}")),
        }
    }

    /// Go's `printValue` for `{{ value }}`.
    fn print(&mut self, v: &Value<'a>) {
        match v {
            Value::Str(s, _) => self.out.push_str(s.as_str()),
            Value::Nil => self.out.push_str("<no value>"),
            Value::Int(i) => {
                use std::fmt::Write as _;
                let _ = write!(self.out, "{i}");
            }
            Value::Data(_) => {
                let mut s = String::new();
                print_arg(&mut s, v, 'v', &self.env.zone);
                self.out.push_str(s.strip_prefix('&').unwrap_or(&s));
            }
            _ => print_arg(&mut self.out, v, 'v', &self.env.zone),
        }
    }

    fn pipeline(&mut self, dot: &Value<'a>, pipe: &'a Pipe) -> R<Value<'a>> {
        let mut val: Option<Value<'a>> = None;
        for cmd in &pipe.cmds {
            val = Some(self.command(dot, cmd, val.take())?);
        }
        let v = val.unwrap_or(Value::Nil);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, v.clone())?;
            } else {
                self.vars.push((name, v.clone()));
            }
        }
        Ok(v)
    }

    fn not_a_function(&self, args: &[Arg], fin: &Option<Value<'a>>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            let what = self
                .tree
                .src
                .snippet(self.span.0, self.span.1)
                .trim()
                .to_string();
            return self.err(format!("can't give argument to non-function {what}"));
        }
        Ok(())
    }

    fn command(&mut self, dot: &Value<'a>, cmd: &'a Cmd, fin: Option<Value<'a>>) -> R<Value<'a>> {
        self.span = (cmd.pos, cmd.end);
        let args = &cmd.args[..];
        match &args[0] {
            Arg::Field(_, names) => self.field_chain(dot, dot.clone(), names, args, fin),
            Arg::Chain(_, node, names) => {
                if matches!(**node, Arg::Nil(_)) {
                    return self.err("indirection through explicit nil");
                }
                let recv = self.arg(dot, P::Any, node)?;
                self.field_chain(dot, recv, names, args, fin)
            }
            Arg::Func(_, f) => self.call_func(dot, *f, &args[1..], fin),
            Arg::Pipe(_, p) => {
                self.not_a_function(args, &fin)?;
                self.pipeline(dot, p)
            }
            Arg::Var(_, name, fields) => {
                let v = self.var(name)?;
                if fields.is_empty() {
                    self.not_a_function(args, &fin)?;
                    Ok(v)
                } else {
                    self.field_chain(dot, v, fields, args, fin)
                }
            }
            lit => {
                self.not_a_function(args, &fin)?;
                match lit {
                    Arg::Bool(_, b) => Ok(Value::Bool(*b)),
                    Arg::Dot(_) => Ok(dot.clone()),
                    Arg::Nil(_) => self.err("nil is not a command"),
                    Arg::Num(_, n) => Ok(num(*n)),
                    Arg::Str(_, s) => Ok(Value::str(s)),
                    _ => self.err("internal error: unexpected operand"),
                }
            }
        }
    }

    /// Evaluates an argument for a parameter of type `p` (Go's `evalArg` + `validateType`).
    fn arg(&mut self, dot: &Value<'a>, p: P, a: &'a Arg) -> R<Value<'a>> {
        let v = match a {
            Arg::Dot(_) => dot.clone(),
            Arg::Nil(_) => {
                return match p {
                    P::Any => Ok(Value::Nil),
                    P::StrSlice => Ok(Value::Strings(Rc::new(Vec::new()), false)),
                    P::List => Ok(Value::List(Rc::new(Vec::new()))),
                    _ => self.err(format!("cannot assign nil to {}", p.go_name())),
                };
            }
            Arg::Field(_, names) => {
                self.field_chain(dot, dot.clone(), names, std::slice::from_ref(a), None)?
            }
            Arg::Var(_, name, fields) => {
                let v = self.var(name)?;
                if fields.is_empty() {
                    v
                } else {
                    self.field_chain(dot, v, fields, &[], None)?
                }
            }
            Arg::Pipe(_, pipe) => self.pipeline(dot, pipe)?,
            Arg::Func(_, f) => self.call_func(dot, *f, &[], None)?,
            Arg::Chain(_, node, names) => {
                if matches!(**node, Arg::Nil(_)) {
                    return self.err("indirection through explicit nil");
                }
                let recv = self.arg(dot, P::Any, node)?;
                self.field_chain(dot, recv, names, &[], None)?
            }
            Arg::Bool(_, b) => {
                return match p {
                    P::Any => Ok(Value::Bool(*b)),
                    _ => self.err(format!("expected {}; found {b}", p.go_name())),
                };
            }
            Arg::Num(_, n) => {
                return match p {
                    P::Any => Ok(num(*n)),
                    _ => self.err(format!("expected {}; found a number", p.go_name())),
                };
            }
            Arg::Str(_, s) => {
                return match p {
                    P::Any | P::Str => Ok(Value::str(s)),
                    _ => self.err(format!("expected {}; found {:?}", p.go_name(), &**s)),
                };
            }
        };
        self.validate(v, p)
    }

    fn validate(&self, v: Value<'a>, p: P) -> R<Value<'a>> {
        let ok = match (&v, p) {
            (_, P::Any) => true,
            (Value::Str(_, StrKind::Plain), P::Str) => true,
            (Value::Strings(..), P::StrSlice) => true,
            (Value::List(_), P::List) => true,
            (Value::Time(_), P::Time) => true,
            (Value::Nil, P::StrSlice) => return Ok(Value::Strings(Rc::new(Vec::new()), false)),
            (Value::Nil, P::List) => return Ok(Value::List(Rc::new(Vec::new()))),
            (Value::Nil, _) => return self.err(format!("invalid value; expected {}", p.go_name())),
            _ => false,
        };
        if ok {
            Ok(v)
        } else {
            self.err(format!(
                "wrong type for value; expected {}; got {}",
                p.go_name(),
                v.type_name()
            ))
        }
    }

    /// Evaluates call arguments against a signature, appending the piped final value.
    fn call_args(
        &mut self,
        dot: &Value<'a>,
        name: &str,
        fixed: &[P],
        variadic: Option<P>,
        args: &'a [Arg],
        fin: Option<Value<'a>>,
    ) -> R<Vec<Value<'a>>> {
        let num_in = args.len() + usize::from(fin.is_some());
        match variadic {
            Some(_) if num_in < fixed.len() => {
                return self.err(format!(
                    "wrong number of args for {name}: want at least {} got {num_in}",
                    fixed.len()
                ));
            }
            None if num_in != fixed.len() => {
                return self.err(format!(
                    "wrong number of args for {name}: want {} got {num_in}",
                    fixed.len()
                ));
            }
            _ => {}
        }
        let ptype = |i: usize| {
            if i < fixed.len() {
                fixed[i]
            } else {
                variadic.unwrap_or(P::Any)
            }
        };
        let mut argv = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            argv.push(self.arg(dot, ptype(i), a)?);
        }
        if let Some(f) = fin {
            argv.push(self.validate(f, ptype(num_in - 1))?);
        }
        Ok(argv)
    }

    fn call_func(
        &mut self,
        dot: &Value<'a>,
        f: Func,
        args: &'a [Arg],
        fin: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let sig = f.sig();
        if matches!(f, Func::And | Func::Or) {
            let num_in = args.len() + usize::from(fin.is_some());
            if num_in < 1 {
                return self.err(format!(
                    "wrong number of args for {}: want at least 1 got 0",
                    f.name()
                ));
            }
            let mut v = Value::Nil;
            for a in args {
                v = self.arg(dot, P::Any, a)?;
                if v.truth() == (f == Func::Or) {
                    return Ok(v);
                }
            }
            if let Some(fv) = fin {
                v = fv;
            }
            return Ok(v);
        }
        let span = self.span;
        let argv = self.call_args(dot, f.name(), sig.fixed, sig.variadic, args, fin)?;
        self.span = span;
        match funcs::call(f, argv, &mut self.env) {
            Ok(v) => Ok(v),
            Err(m) => self.err(format!("error calling {}: {m}", f.name())),
        }
    }

    fn field_chain(
        &mut self,
        dot: &Value<'a>,
        mut recv: Value<'a>,
        names: &'a [Arc<str>],
        args: &'a [Arg],
        fin: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let n = names.len();
        let mut nil_iface = false;
        for name in &names[..n - 1] {
            if nil_iface {
                return self.err(format!("nil pointer evaluating interface {{}}.{name}"));
            }
            (recv, nil_iface) = self.field(dot, name, &[], None, recv)?;
        }
        if nil_iface {
            return self.err(format!(
                "nil pointer evaluating interface {{}}.{}",
                names[n - 1]
            ));
        }
        Ok(self.field(dot, &names[n - 1], args, fin, recv)?.0)
    }

    /// Go's `evalField`: methods first, then struct fields or map keys. The flag reports a
    /// missing `dict` key (a nil interface, which cannot be dereferenced further).
    fn field(
        &mut self,
        dot: &Value<'a>,
        name: &str,
        args: &'a [Arg],
        fin: Option<Value<'a>>,
        recv: Value<'a>,
    ) -> R<(Value<'a>, bool)> {
        let has_args = args.len() > 1 || fin.is_some();
        let margs: &'a [Arg] = if args.is_empty() { args } else { &args[1..] };
        let zone = &self.env.zone;
        let time = |ts: &jiff::Timestamp| Value::Time(Rc::new(ts.to_zoned(zone.clone())));
        let no_args = |this: &Self| -> R<()> {
            if has_args {
                return this.err(format!(
                    "{name} has arguments but cannot be invoked as function"
                ));
            }
            Ok(())
        };
        let v = match &recv {
            Value::Nil => return Ok((Value::Nil, false)),
            Value::Data(d) => {
                let v = match name {
                    "Receiver" => Value::str(&d.receiver),
                    "Status" => Value::str(&d.status),
                    "Alerts" => Value::Alerts(AlertList::All(&d.alerts)),
                    "GroupLabels" => Value::Kv(KvRef::B(&d.group_labels)),
                    "CommonLabels" => Value::Kv(KvRef::B(&d.common_labels)),
                    "CommonAnnotations" => Value::Kv(KvRef::B(&d.common_annotations)),
                    "RouteLabels" => Value::Kv(KvRef::B(&d.route_labels)),
                    "ExternalURL" => Value::str(&d.external_url),
                    "NotificationReason" => Value::str(&d.notification_reason),
                    _ => return self.err(fields_err(name, &recv)),
                };
                no_args(self)?;
                v
            }
            Value::Alert(a) => {
                let v = match name {
                    "Status" => Value::str(&a.status),
                    "Labels" => Value::Kv(KvRef::B(&a.labels)),
                    "Annotations" => Value::Kv(KvRef::B(&a.annotations)),
                    "StartsAt" => time(&a.starts_at),
                    "EndsAt" => time(&a.ends_at),
                    "GeneratorURL" => Value::str(&a.generator_url),
                    "Fingerprint" => Value::str(&a.fingerprint),
                    _ => return self.err(fields_err(name, &recv)),
                };
                no_args(self)?;
                v
            }
            Value::Alerts(l) if l.named() && (name == "Firing" || name == "Resolved") => {
                self.call_args(dot, name, &[], None, margs, fin)?;
                let want = if name == "Firing" {
                    "firing"
                } else {
                    "resolved"
                };
                let sub: Vec<_> = l.iter().filter(|a| a.status == want).collect();
                Value::Alerts(AlertList::Sub(Rc::new(sub), false))
            }
            Value::Kv(k) => match name {
                "SortedPairs" | "Names" | "Values" | "String" => {
                    self.call_args(dot, name, &[], None, margs, fin)?;
                    let pairs = kv_pairs(k);
                    match name {
                        "SortedPairs" => Value::Pairs(Rc::new(pairs)),
                        "Names" => {
                            Value::Strings(Rc::new(pairs.into_iter().map(|p| p.0).collect()), true)
                        }
                        "Values" => {
                            Value::Strings(Rc::new(pairs.into_iter().map(|p| p.1).collect()), true)
                        }
                        _ => Value::string(k.kv().to_string()),
                    }
                }
                "Remove" => {
                    let argv = self.call_args(dot, name, &[P::StrSlice], None, margs, fin)?;
                    let names: Vec<&str> = match &argv[0] {
                        Value::Strings(x, _) => x.iter().map(Str::as_str).collect(),
                        _ => Vec::new(),
                    };
                    Value::Kv(KvRef::S(Rc::new(k.kv().remove(&names))))
                }
                _ => {
                    if has_args {
                        return self.err(format!("{name} is not a method but has arguments"));
                    }
                    match k {
                        KvRef::B(kv) => Value::str(kv.get(name).unwrap_or("")),
                        KvRef::S(kv) => Value::string(kv.get(name).unwrap_or("").to_string()),
                    }
                }
            },
            Value::Dict(m) => {
                if has_args {
                    return self.err(format!("{name} is not a method but has arguments"));
                }
                return Ok(match m.get(name) {
                    Some(v) => (v.clone(), false),
                    None => (Value::Nil, true),
                });
            }
            Value::Pairs(ps) if matches!(name, "Names" | "Values" | "String") => {
                self.call_args(dot, name, &[], None, margs, fin)?;
                match name {
                    "Names" => {
                        Value::Strings(Rc::new(ps.iter().map(|p| p.0.clone()).collect()), true)
                    }
                    "Values" => {
                        Value::Strings(Rc::new(ps.iter().map(|p| p.1.clone()).collect()), true)
                    }
                    _ => Value::string(pairs_string(
                        ps.iter().map(|(a, b)| (a.as_str(), b.as_str())),
                    )),
                }
            }
            Value::Pair(a, b) if name == "Name" || name == "Value" => {
                no_args(self)?;
                Value::Str(
                    if name == "Name" { a.clone() } else { b.clone() },
                    StrKind::Plain,
                )
            }
            Value::Strings(items, true) if name == "Join" => {
                let argv = self.call_args(dot, name, &[P::Str], None, margs, fin)?;
                let sep = argv[0].as_any_str().unwrap_or("");
                let mut out = String::new();
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(sep);
                    }
                    out.push_str(s.as_str());
                }
                Value::string(out)
            }
            Value::Time(t) => self.time_method(dot, t, name, margs, fin, &recv)?,
            Value::Duration(d) => {
                let d = *d;
                let v = match name {
                    "Seconds" => Value::Float(d as f64 / 1e9),
                    "Minutes" => Value::Float(d as f64 / 6e10),
                    "Hours" => Value::Float(d as f64 / 3.6e12),
                    "Milliseconds" => Value::Int(d / 1_000_000),
                    "Microseconds" => Value::Int(d / 1_000),
                    "Nanoseconds" => Value::Int(d),
                    "String" => Value::string(super::timefmt::duration_string(d)),
                    _ => return self.err(fields_err(name, &recv)),
                };
                self.call_args(dot, name, &[], None, margs, fin)?;
                v
            }
            _ => return self.err(fields_err(name, &recv)),
        };
        Ok((v, false))
    }

    fn time_method(
        &mut self,
        dot: &Value<'a>,
        t: &Rc<jiff::Zoned>,
        name: &str,
        margs: &'a [Arg],
        fin: Option<Value<'a>>,
        recv: &Value<'a>,
    ) -> R<Value<'a>> {
        if name == "Format" {
            let argv = self.call_args(dot, name, &[P::Str], None, margs, fin)?;
            return Ok(Value::string(go_format(
                t,
                argv[0].as_any_str().unwrap_or(""),
            )));
        }
        let ts = t.timestamp();
        let v = match name {
            "Unix" => Value::Int(ts.as_second()),
            "UnixMilli" => Value::Int(ts.as_millisecond()),
            "UnixMicro" => Value::Int(ts.as_microsecond()),
            "UnixNano" => Value::Int(ts.as_nanosecond() as i64),
            "UTC" => Value::Time(Rc::new(ts.to_zoned(jiff::tz::TimeZone::UTC))),
            "Local" => Value::Time(Rc::new(ts.to_zoned(self.env.zone.clone()))),
            "IsZero" => Value::Bool(ts == super::data::zero_time()),
            "Year" => Value::Int(i64::from(t.year())),
            "YearDay" => Value::Int(i64::from(t.day_of_year())),
            "Day" => Value::Int(i64::from(t.day())),
            "Hour" => Value::Int(i64::from(t.hour())),
            "Minute" => Value::Int(i64::from(t.minute())),
            "Second" => Value::Int(i64::from(t.second())),
            "Nanosecond" => Value::Int(i64::from(t.subsec_nanosecond())),
            "String" => Value::string(time_string(t)),
            _ => {
                return self.err(format!(
                    "{} (time.Time method {name} is not supported)",
                    fields_err(name, recv)
                ));
            }
        };
        self.call_args(dot, name, &[], None, margs, fin)?;
        Ok(v)
    }
}

fn num<'a>(n: Num) -> Value<'a> {
    match n {
        Num::Int(i) => Value::Int(i),
        Num::Float(f) => Value::Float(f),
    }
}

/// `.SortedPairs` as template values.
fn kv_pairs<'a>(k: &KvRef<'a>) -> Vec<(Str<'a>, Str<'a>)> {
    match k {
        KvRef::B(kv) => kv
            .sorted_pairs()
            .into_iter()
            .map(|(a, b)| (Str::B(a), Str::B(b)))
            .collect(),
        KvRef::S(kv) => kv
            .sorted_pairs()
            .into_iter()
            .map(|(a, b)| (Str::from(a.to_string()), Str::from(b.to_string())))
            .collect(),
    }
}
