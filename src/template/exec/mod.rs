//! The executor: walks a tree against a dot value with Go's `text/template` semantics
//! (variable scoping, `missingkey=zero`, `break`/`continue`, bounded `template` recursion).
//!
//! This file owns the walk over nodes, `range`, variables and printing; `eval` evaluates
//! pipelines, commands, arguments and function calls; `fields` resolves `.Field` and method
//! access on every value type.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;
use std::sync::Arc;

use super::ast::{Arg, Node, Source, Tree};
use super::escape::apply_escapers;
use super::funcs::Env;
use super::printf::print_arg;
use super::timefmt::{STRING_LAYOUT, go_format_into};
use super::value::{PairRef, Str, StrKind, Value};

/// An alert time: the instant and the UTC offset it was written with (None: the render zone).
pub(super) type AlertTime = (jiff::Timestamp, Option<i32>);

mod eval;
mod fields;

/// Deepest nesting accepted while rendering: `{{ template }}` calls and the `if`, `with` and
/// `range` bodies inside them, counted together. Go bounds only template calls (at 100000,
/// on a growable stack); we bound both, lower, so that no template (the preview API takes
/// any) can recurse into a stack overflow: it gets an error instead.
pub const MAX_EXEC_DEPTH: usize = 300;

/// Most steps one render may take: each node list run (a `range` iteration, an `if`/`with`
/// body, a template call) is one, and so is each 8 bytes of string a function builds. A
/// hundred-alert notification takes a few thousand, so this stops only runaway loops such as
/// `{{ range 1000000000000 }}`, which would otherwise hold a thread.
pub const MAX_EXEC_STEPS: u64 = 10_000_000;

/// Largest output one render may produce (16 MiB).
pub const MAX_OUTPUT: usize = 16 << 20;

/// A template set keyed by name (FNV-hashed: names are short and trusted config, and a
/// lookup happens on every `{{ template }}` call).
pub(crate) type Set = HashMap<Arc<str>, Arc<Tree>, BuildHasherDefault<Fnv>>;

/// FNV-1a, for the template-name map.
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

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
    /// Node lists run so far, plus one per 8 bytes of strings built by functions (bounded
    /// by [`MAX_EXEC_STEPS`]).
    steps: u64,
    env: Env,
    tree: &'a Tree,
    /// Span of the command being evaluated, for messages.
    span: (usize, usize),
    /// Set by `field` when a `dict` lookup misses; cleared and read by the field chain.
    missing_key: bool,
    /// Call sites already resolved by `lookup`: name allocation to template.
    called: Vec<(*const u8, &'a Tree)>,
    /// `stringSlice` results of literal-only call sites, keyed by the call's arguments.
    literal_slices: Vec<(*const Arg, Rc<Vec<Str<'a>>>)>,
    /// Spare argument buffers, so calls do not allocate.
    arg_pool: Vec<Vec<Value<'a>>>,
    /// Recently converted alert times (render zone), most recent last.
    times: Vec<(AlertTime, Rc<jiff::Zoned>)>,
    /// Recent `Format` results keyed by time value identity and layout. Holding the `Rc`
    /// keeps the pointer from being reused while the entry lives.
    formats: Vec<(Rc<jiff::Zoned>, Box<str>, Rc<str>)>,
    /// Recent alert times formatted with a layout constant, keyed by instant and the
    /// constant's address (only compared, never read).
    ts_formats: Vec<(AlertTime, *const u8, Rc<str>)>,
}

/// Entries kept in each of the small per-render caches.
const CACHE_SIZE: usize = 8;

/// Executes `tree` with `dot` and returns the output.
pub(crate) fn execute<'a>(
    set: &'a Set,
    tree: &'a Tree,
    dot: Value<'a>,
    env: Env,
    capacity: usize,
) -> Result<String, Box<ExecErr>> {
    let mut ex = Exec {
        set,
        out: String::with_capacity(capacity),
        vars: vec![("$", dot.clone())],
        frame: 0,
        depth: 0,
        steps: 0,
        env,
        tree,
        span: (0, 0),
        missing_key: false,
        called: Vec::new(),
        literal_slices: Vec::new(),
        arg_pool: Vec::new(),
        times: Vec::new(),
        formats: Vec::new(),
        ts_formats: Vec::new(),
    };
    ex.walk(&dot, &tree.root)?;
    Ok(ex.out)
}

fn fields_err(name: &str, v: &Value<'_>) -> String {
    format!("can't evaluate field {name} in type {}", v.type_name())
}

impl<'a> Exec<'a> {
    #[cold]
    #[inline(never)]
    fn err<T>(&self, msg: impl Into<String>) -> R<T> {
        Err(Box::new(ExecErr {
            src: self.tree.src.clone(),
            name: self.tree.name.clone(),
            pos: self.span.0,
            end: self.span.1,
            msg: msg.into(),
        }))
    }

    #[cold]
    #[inline(never)]
    fn over_budget(&self) -> R<Flow> {
        if self.out.len() > MAX_OUTPUT {
            self.err(format!(
                "output exceeds {} MiB (not supported)",
                MAX_OUTPUT >> 20
            ))
        } else {
            self.err(format!("exceeded {MAX_EXEC_STEPS} steps (a runaway loop?)"))
        }
    }

    /// Runs a list of nodes one nesting level deeper.
    #[inline]
    fn walk(&mut self, dot: &Value<'a>, list: &'a [Node]) -> R<Flow> {
        if self.depth >= MAX_EXEC_DEPTH {
            return self.err(format!(
                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            ));
        }
        self.steps += 1;
        if self.steps > MAX_EXEC_STEPS || self.out.len() > MAX_OUTPUT {
            return self.over_budget();
        }
        self.depth += 1;
        let r = self.walk_nodes(dot, list);
        self.depth -= 1;
        r
    }

    fn walk_nodes(&mut self, dot: &Value<'a>, list: &'a [Node]) -> R<Flow> {
        for node in list {
            match node {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(pipe) => {
                    // `{{ . }}`: printed in place, without a copy.
                    if let ([cmd], [], []) = (&pipe.cmds[..], &pipe.decl[..], &pipe.esc[..])
                        && let [Arg::Dot(_)] = &cmd.args[..]
                    {
                        self.print_inline(dot);
                        continue;
                    }
                    if pipe.esc.is_empty()
                        && let Some(v) = self.fast_pipe(dot, pipe)
                    {
                        self.print_inline(&v);
                        v.discard();
                        continue;
                    }
                    self.span = (pipe.pos, pipe.end);
                    // Results are used in place (not moved out of the `Result`): copying a
                    // freshly returned value stalls on store forwarding.
                    let r = self.pipeline(dot, pipe);
                    let v = match &r {
                        Ok(v) => v,
                        Err(_) => return r.map(|_| Flow::Normal),
                    };
                    if pipe.decl.is_empty() {
                        if pipe.esc.is_empty() {
                            self.print(v);
                        } else {
                            let s = apply_escapers(&pipe.esc, v.clone(), &self.env.zone);
                            self.out.push_str(&s);
                        }
                    }
                }
                Node::If(b) | Node::With(b) => {
                    let is_with = matches!(node, Node::With(_));
                    let mark = self.vars.len();
                    self.span = (b.pipe.pos, b.pipe.end);
                    let v = match self.fast_pipe(dot, &b.pipe) {
                        Some(v) => v,
                        None => self.pipeline(dot, &b.pipe)?,
                    };
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
                    if self.vars.len() > mark {
                        self.vars.truncate(mark);
                    }
                    v.discard();
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Range(b) => {
                    let mark = self.vars.len();
                    self.span = (b.pipe.pos, b.pipe.end);
                    let v = match self.fast_pipe(dot, &b.pipe) {
                        Some(v) => v,
                        None => self.pipeline(dot, &b.pipe)?,
                    };
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
                Node::Template { pos, name, pipe } => self.call_template(dot, *pos, name, pipe)?,
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    /// `{{ template "name" pipeline }}`: runs the named template with its own variables.
    /// Kept out of [`walk`](Self::walk), so that each level of a template recursion costs
    /// two small stack frames rather than one large one.
    #[inline(never)]
    fn call_template(
        &mut self,
        dot: &Value<'a>,
        pos: usize,
        name: &'a Arc<str>,
        pipe: &'a Option<Box<super::ast::Pipe>>,
    ) -> R<()> {
        self.span = (pos, pipe.as_ref().map_or(pos, |p| p.end));
        let Some(tree) = self.lookup(name) else {
            return self.err(format!("template {:?} not defined", &**name));
        };
        let new_dot = match pipe {
            Some(p) => match self.fast_pipe(dot, p) {
                Some(v) => v,
                None => self.pipeline(dot, p)?,
            },
            None => Value::Nil,
        };
        let saved_frame = self.frame;
        self.frame = self.vars.len();
        self.vars.push(("$", new_dot.clone()));
        let saved_tree = std::mem::replace(&mut self.tree, tree);
        let r = self.walk(&new_dot, &tree.root);
        self.tree = saved_tree;
        self.vars.truncate(self.frame);
        self.frame = saved_frame;
        r.map(|_| ())
    }

    /// Runs the body of a range once per element; returns whether there was any element.
    fn range(&mut self, v: &Value<'a>, b: &'a super::ast::Branch) -> R<bool> {
        let n = match v {
            Value::Alerts(l) => l.len(),
            Value::Strings(x, _) => x.len(),
            Value::List(x) => x.len(),
            Value::Pairs(x) => x.len(),
            Value::Kv(k) => k.len(),
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
        // The usual loop, `range .Alerts` without variables.
        if let Value::Alerts(l) = v
            && b.pipe.decl.is_empty()
        {
            let mark = self.vars.len();
            for a in l.iter() {
                let flow = self.walk(&Value::Alert(a), &b.list)?;
                if self.vars.len() > mark {
                    self.vars.truncate(mark);
                }
                if matches!(flow, Flow::Break) {
                    break;
                }
            }
            return Ok(true);
        }
        let kv_entries: Vec<(Value<'a>, Value<'a>)> = match v {
            Value::Kv(k) => k
                .iter()
                .map(|(a, b)| (Value::str(a), Value::str(b)))
                .collect(),
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
                Value::Pairs(x) => (Value::Int(i as i64), Value::Pair(PairRef::new(x, i))),
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

    /// The template a `{{ template }}` node calls, remembered per call site (the name's
    /// allocation identifies the node) so a loop does not hash the name on every element.
    fn lookup(&mut self, name: &'a Arc<str>) -> Option<&'a Tree> {
        let key = Arc::as_ptr(name).cast::<u8>();
        if let Some((_, t)) = self.called.iter().find(|(k, _)| std::ptr::eq(*k, key)) {
            return Some(t);
        }
        let tree: &'a Tree = self.set.get(name)?;
        if self.called.len() < CACHE_SIZE * 2 {
            self.called.push((key, tree));
        }
        Some(tree)
    }

    /// Returns an argument buffer to the pool.
    #[inline]
    fn recycle(&mut self, mut argv: Vec<Value<'a>>) {
        if argv.capacity() > 0 && self.arg_pool.len() < 32 {
            argv.clear();
            self.arg_pool.push(argv);
        }
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

    /// The current value of a variable, if defined in this template's frame.
    #[inline]
    fn var_ref(&self, name: &str) -> Option<&Value<'a>> {
        self.vars[self.frame..]
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
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

    /// [`print`](Self::print) with the string case inlined (nearly every printed value).
    #[inline]
    fn print_inline(&mut self, v: &Value<'a>) {
        match v {
            Value::Str(s, _) => self.out.push_str(s.as_str()),
            _ => self.print(v),
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
            Value::Kv(k) => k.write_string(&mut self.out),
            Value::Time(t) => go_format_into(&mut self.out, t, STRING_LAYOUT),
            _ => print_arg(&mut self.out, v, 'v', &self.env.zone),
        }
    }
}
