//! Pipelines, commands and arguments: Go's `evalPipeline`/`evalCommand`/`evalArg`, argument
//! type checks against function signatures, final-argument pipelines and short-circuit
//! `and`/`or`.

use std::rc::Rc;

use super::super::ast::{Arg, Cmd, Num, Pipe};
use super::super::funcs::{self, Func, P};
use super::super::value::{Str, StrKind, Value};
use super::fields::plain_chain;
use super::{CACHE_SIZE, Exec, R};

impl<'a> Exec<'a> {
    /// The value of a pipeline that is a single operand needing no checks and unable to
    /// fail (`.Labels.severity`, `.`, `$x.Status`, a string constant): the bulk of actions,
    /// answered without the general machinery. `None` means "evaluate it in full".
    // Always inlined in release; not in debug builds, whose frames would add up over deep
    // template recursion.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn fast_pipe(&self, dot: &Value<'a>, pipe: &'a Pipe) -> Option<Value<'a>> {
        let ([cmd], []) = (&pipe.cmds[..], &pipe.decl[..]) else {
            return None;
        };
        match &cmd.args[..] {
            [arg] => self.fast_arg(dot, arg),
            [Arg::Func(_, f), a, b] => self.fast_compare(dot, *f, a, b),
            _ => None,
        }
    }

    /// `eq .Status "firing"` and the like: `eq`/`ne` of two plain operands that are both
    /// strings. `None` means "call the function".
    #[inline]
    fn fast_compare(&self, dot: &Value<'a>, f: Func, a: &'a Arg, b: &'a Arg) -> Option<Value<'a>> {
        if !matches!(f, Func::Eq | Func::Ne) {
            return None;
        }
        let (Value::Str(x, _), Value::Str(y, _)) = (self.fast_arg(dot, a)?, self.fast_arg(dot, b)?)
        else {
            return None;
        };
        Some(Value::Bool((x.as_str() == y.as_str()) == (f == Func::Eq)))
    }

    /// [`fast_pipe`](Self::fast_pipe) for one operand.
    // Always inlined in release; not in debug builds, whose frames would add up over deep
    // template recursion.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn fast_arg(&self, dot: &Value<'a>, arg: &'a Arg) -> Option<Value<'a>> {
        match arg {
            Arg::Field(_, names) => plain_chain(dot, names),
            Arg::Dot(_) => Some(dot.clone()),
            Arg::Str(_, s) => Some(Value::str(s)),
            Arg::Var(_, name, fields) => {
                let v = self.var_ref(name)?;
                if fields.is_empty() {
                    Some(v.clone())
                } else {
                    plain_chain(v, fields)
                }
            }
            _ => None,
        }
    }

    pub(super) fn pipeline(&mut self, dot: &Value<'a>, pipe: &'a Pipe) -> R<Value<'a>> {
        // The common shape: one command, no variables.
        if let ([cmd], []) = (&pipe.cmds[..], &pipe.decl[..]) {
            return self.command(dot, cmd, None);
        }
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

    pub(super) fn not_a_function(&self, args: &[Arg], fin: &Option<Value<'a>>) -> R<()> {
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

    pub(super) fn command(
        &mut self,
        dot: &Value<'a>,
        cmd: &'a Cmd,
        fin: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        self.span = (cmd.pos, cmd.end);
        let args = &cmd.args[..];
        match &args[0] {
            Arg::Field(_, names) => self.field_chain(dot, dot, names, args, fin),
            Arg::Chain(_, node, names) => {
                if matches!(**node, Arg::Nil(_)) {
                    return self.err("indirection through explicit nil");
                }
                let recv = self.arg(dot, P::Any, node)?;
                self.field_chain(dot, &recv, names, args, fin)
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
                    self.field_chain(dot, &v, fields, args, fin)
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
    pub(super) fn arg(&mut self, dot: &Value<'a>, p: P, a: &'a Arg) -> R<Value<'a>> {
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
            Arg::Field(_, names) => match plain_chain(dot, names) {
                Some(v) => v,
                None => self.field_chain(dot, dot, names, std::slice::from_ref(a), None)?,
            },
            Arg::Var(_, name, fields) => {
                let v = self.var(name)?;
                if fields.is_empty() {
                    v
                } else {
                    self.field_chain(dot, &v, fields, &[], None)?
                }
            }
            Arg::Pipe(_, pipe) => self.pipeline(dot, pipe)?,
            Arg::Func(_, f) => self.call_func(dot, *f, &[], None)?,
            Arg::Chain(_, node, names) => {
                if matches!(**node, Arg::Nil(_)) {
                    return self.err("indirection through explicit nil");
                }
                let recv = self.arg(dot, P::Any, node)?;
                self.field_chain(dot, &recv, names, &[], None)?
            }
            Arg::Bool(_, b) => {
                return match p {
                    P::Any => Ok(Value::Bool(*b)),
                    _ => self.err(format!("expected {}; found {b}", p.go_name())),
                };
            }
            Arg::Num(_, n) => {
                return match (p, n) {
                    (P::Any, _) => Ok(num(*n)),
                    // Go's evalInteger: an integer constant converts to an int64 kind.
                    (P::Duration, Num::Int(i)) => Ok(Value::Duration(*i)),
                    // Go's parser also marks integral float constants (`1e9`) as integers.
                    (P::Duration, Num::Float(f))
                        if f.fract() == 0.0 && (i64::MIN as f64..i64::MAX as f64).contains(f) =>
                    {
                        Ok(Value::Duration(*f as i64))
                    }
                    (P::Duration, Num::Float(_)) => self.err("expected integer; found a float"),
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

    #[inline]
    pub(super) fn validate(&self, v: Value<'a>, p: P) -> R<Value<'a>> {
        let ok = match (&v, p) {
            (_, P::Any) => true,
            (Value::Str(_, StrKind::Plain), P::Str) => true,
            (Value::Strings(..), P::StrSlice) => true,
            (Value::List(_), P::List) => true,
            (Value::Time(_), P::Time) => true,
            (Value::Duration(_), P::Duration) => true,
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
    pub(super) fn call_args(
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
        let mut argv = if num_in == 0 {
            Vec::new()
        } else {
            self.arg_pool.pop().unwrap_or_default()
        };
        for (i, a) in args.iter().enumerate() {
            argv.push(self.arg(dot, ptype(i), a)?);
        }
        if let Some(f) = fin {
            argv.push(self.validate(f, ptype(num_in - 1))?);
        }
        Ok(argv)
    }

    pub(super) fn call_func(
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
        // `eq .Status "firing"` inside a longer pipeline or as an argument.
        if fin.is_none()
            && let [a, b] = args
            && let Some(v) = self.fast_compare(dot, f, a, b)
        {
            return Ok(v);
        }
        if f == Func::StringSlice
            && fin.is_none()
            && !args.is_empty()
            && args.iter().all(|a| matches!(a, Arg::Str(..)))
        {
            return Ok(Value::Strings(self.literal_slice(args), false));
        }
        let span = self.span;
        let argv = self.call_args(dot, f.name(), sig.fixed, sig.variadic, args, fin)?;
        self.span = span;
        let mut argv = argv;
        let r = funcs::call(f, &mut argv, &mut self.env);
        self.recycle(argv);
        match r {
            Ok(v) => {
                // Strings a function builds count toward the render's step budget (one step
                // per 8 bytes), so a loop of `printf "%1000000d"` stops too.
                if let Value::Str(Str::S(s), _) = &v {
                    self.steps += (s.len() >> 3) as u64;
                }
                Ok(v)
            }
            Err(m) => self.err(format!("error calling {}: {m}", f.name())),
        }
    }

    /// `stringSlice` of string literals: the same list at every execution of the call site,
    /// so it is built once per render.
    pub(super) fn literal_slice(&mut self, args: &'a [Arg]) -> Rc<Vec<Str<'a>>> {
        let key = args.as_ptr();
        if let Some((_, v)) = self
            .literal_slices
            .iter()
            .find(|(k, _)| std::ptr::eq(*k, key))
        {
            return v.clone();
        }
        let items: Vec<Str<'a>> = args
            .iter()
            .map(|a| match a {
                Arg::Str(_, s) => Str::B(s),
                _ => Str::B(""),
            })
            .collect();
        let v = Rc::new(items);
        if self.literal_slices.len() < CACHE_SIZE {
            self.literal_slices.push((key, v.clone()));
        }
        v
    }
}

fn num<'a>(n: Num) -> Value<'a> {
    match n {
        Num::Int(i) => Value::Int(i),
        Num::Float(f) => Value::Float(f),
    }
}
