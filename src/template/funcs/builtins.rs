//! Go's collection and comparison builtins: `len`, `index`, `slice`, and the basic-kind
//! comparisons behind `eq ne lt le gt ge`.

use std::rc::Rc;

use super::super::value::{AlertList, PairRef, Str, StrKind, Value};
use super::R;

/// Go's `len`.
pub(super) fn len(v: &Value<'_>) -> Result<i64, String> {
    let n = match v {
        Value::Str(s, _) => s.as_str().len(),
        Value::Strings(x, _) => x.len(),
        Value::List(x) => x.len(),
        Value::Dict(x) => x.len(),
        Value::Kv(k) => k.len(),
        Value::Alerts(l) => l.len(),
        Value::Pairs(p) => p.len(),
        Value::Nil => return Err("len of nil pointer".into()),
        other => return Err(format!("len of type {}", other.type_name())),
    };
    Ok(n as i64)
}

fn index_arg(v: &Value<'_>, len: usize, is_slice: bool) -> Result<usize, String> {
    let x: i64 = match v {
        Value::Int(i) | Value::Duration(i) | Value::Month(i) | Value::Weekday(i) => *i,
        Value::Byte(b) => i64::from(*b),
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    if x < 0 || x as u64 > len as u64 || (!is_slice && x as u64 == len as u64) {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn map_key<'v>(v: &'v Value<'_>) -> Result<&'v str, String> {
    match v {
        Value::Str(s, StrKind::Plain) => Ok(s.as_str()),
        Value::Nil => Err("value is nil; should be of type string".into()),
        other => Err(format!(
            "value has type {}; should be string",
            other.type_name()
        )),
    }
}

/// Go's `index`.
pub(super) fn index<'a>(item: &Value<'a>, idx: &[Value<'a>]) -> R<'a> {
    if matches!(item, Value::Nil) {
        return Err("index of untyped nil".into());
    }
    let mut item = item.clone();
    for i in idx {
        item = match &item {
            Value::Str(s, _) => {
                let b = s.as_str().as_bytes();
                Value::Byte(b[index_arg(i, b.len(), false)?])
            }
            Value::Strings(x, _) => {
                Value::Str(x[index_arg(i, x.len(), false)?].clone(), StrKind::Plain)
            }
            Value::List(x) => x[index_arg(i, x.len(), false)?].clone(),
            Value::Pairs(x) => Value::Pair(PairRef::new(x, index_arg(i, x.len(), false)?)),
            Value::Alerts(l) => {
                let n = index_arg(i, l.len(), false)?;
                l.get(n).map(Value::Alert).unwrap_or(Value::Nil)
            }
            Value::Kv(k) => {
                let key = map_key(i)?;
                Value::str(k.get(key).unwrap_or(""))
            }
            Value::Dict(m) => m.get(map_key(i)?).cloned().unwrap_or(Value::Nil),
            Value::Nil => return Err("index of nil pointer".into()),
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

/// Go's `slice`.
pub(super) fn slice<'a>(item: &Value<'a>, idx: &[Value<'a>]) -> R<'a> {
    if matches!(item, Value::Nil) {
        return Err("slice of untyped nil".into());
    }
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()));
    }
    let n = match item {
        Value::Str(s, _) => {
            if idx.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.as_str().len()
        }
        Value::Strings(x, _) => x.len(),
        Value::List(x) => x.len(),
        Value::Pairs(x) => x.len(),
        Value::Alerts(l) => l.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut bounds = [0, n, n];
    for (k, i) in idx.iter().enumerate() {
        bounds[k] = index_arg(i, n, true)?;
    }
    if bounds[0] > bounds[1] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[0], bounds[1]
        ));
    }
    if idx.len() == 3 && bounds[1] > bounds[2] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[1], bounds[2]
        ));
    }
    let (a, b) = (bounds[0], bounds[1]);
    Ok(match item {
        Value::Str(s, k) => {
            let st = s.as_str();
            let sub = st
                .get(a..b)
                .ok_or("slicing would split a UTF-8 character (not supported)")?;
            Value::Str(Str::from(sub.to_string()), *k)
        }
        Value::Strings(x, named) => Value::Strings(Rc::new(x[a..b].to_vec()), *named),
        Value::List(x) => Value::List(Rc::new(x[a..b].to_vec())),
        Value::Pairs(x) => Value::Pairs(Rc::new(x[a..b].to_vec())),
        Value::Alerts(AlertList::All(all)) => Value::Alerts(AlertList::All(&all[a..b])),
        Value::Alerts(AlertList::Sub(v, named)) => {
            Value::Alerts(AlertList::Sub(Rc::new(v[a..b].to_vec()), *named))
        }
        _ => Value::Nil,
    })
}

/// A comparable scalar.
enum Basic<'v> {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(&'v str),
}

fn basic<'v>(v: &'v Value<'_>) -> Option<Basic<'v>> {
    Some(match v {
        Value::Bool(b) => Basic::Bool(*b),
        Value::Int(i) | Value::Duration(i) | Value::Month(i) | Value::Weekday(i) => Basic::Int(*i),
        Value::Byte(b) => Basic::Uint(u64::from(*b)),
        Value::Float(f) => Basic::Float(*f),
        Value::Str(s, _) => Basic::Str(s.as_str()),
        _ => return None,
    })
}

const INCOMPATIBLE: &str = "incompatible types for comparison";

/// Go's `eq` for two values.
pub(crate) fn eq(a: &Value<'_>, b: &Value<'_>) -> Result<bool, String> {
    match (basic(a), basic(b)) {
        (Some(x), Some(y)) => match (x, y) {
            (Basic::Bool(x), Basic::Bool(y)) => Ok(x == y),
            (Basic::Int(x), Basic::Int(y)) => Ok(x == y),
            (Basic::Uint(x), Basic::Uint(y)) => Ok(x == y),
            (Basic::Int(x), Basic::Uint(y)) | (Basic::Uint(y), Basic::Int(x)) => {
                Ok(x >= 0 && x as u64 == y)
            }
            (Basic::Float(x), Basic::Float(y)) => Ok(x == y),
            (Basic::Str(x), Basic::Str(y)) => Ok(x == y),
            _ => Err(INCOMPATIBLE.into()),
        },
        (Some(_), None) | (None, Some(_)) => {
            if matches!(a, Value::Nil) || matches!(b, Value::Nil) {
                Ok(false)
            } else {
                Err(INCOMPATIBLE.into())
            }
        }
        (None, None) => {
            match (a, b) {
                (Value::Nil, Value::Nil) => Ok(true),
                (Value::Nil, _) | (_, Value::Nil) => Ok(false),
                (Value::Data(x), Value::Data(y)) => Ok(std::ptr::eq(*x, *y)),
                (Value::Time(x), Value::Time(y)) => {
                    Ok(x.timestamp() == y.timestamp() && x.time_zone() == y.time_zone())
                }
                (Value::Pair(p), Value::Pair(q)) => Ok(p.name().as_str() == q.name().as_str()
                    && p.value().as_str() == q.value().as_str()),
                (x, y) if x.type_name() != y.type_name() => Err(INCOMPATIBLE.into()),
                (x, _) => Err(format!("non-comparable type {}", x.type_name())),
            }
        }
    }
}

/// Go's `lt` for two values.
pub(crate) fn lt(a: &Value<'_>, b: &Value<'_>) -> Result<bool, String> {
    let bad = || "invalid type for comparison".to_string();
    let (Some(x), Some(y)) = (basic(a), basic(b)) else {
        return Err(bad());
    };
    match (x, y) {
        (Basic::Bool(_), _) | (_, Basic::Bool(_)) => Err(bad()),
        (Basic::Int(x), Basic::Int(y)) => Ok(x < y),
        (Basic::Uint(x), Basic::Uint(y)) => Ok(x < y),
        (Basic::Int(x), Basic::Uint(y)) => Ok(x < 0 || (x as u64) < y),
        (Basic::Uint(x), Basic::Int(y)) => Ok(y >= 0 && x < y as u64),
        (Basic::Float(x), Basic::Float(y)) => Ok(x < y),
        (Basic::Str(x), Basic::Str(y)) => Ok(x < y),
        _ => Err(INCOMPATIBLE.into()),
    }
}
