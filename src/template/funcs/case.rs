//! Case mapping as Alertmanager's template functions do it: `toUpper`/`toLower` are Go's
//! `strings.ToUpper`/`ToLower` (Unicode's simple, one-rune mappings: `ß` stays `ß`, `İ` lowers
//! to `i`), and `title` is `cases.Title(language.AmericanEnglish)` from `golang.org/x/text`: the
//! first cased letter of each word is title-cased and the rest of the word lower-cased (`hELLO`
//! is `Hello`, `ß` at a word's start is `Ss`, a final `Σ` is `ς`). Words break as x/text
//! approximates Unicode's word breaking: letters, digits and `_` join; an apostrophe, `.` or `:`
//! inside a word does not break it (`it's`, `a.b`), two of them in a row do; anything else
//! breaks.
//! Imports: std and the regex crate (for the Word_Break property of non-ASCII characters).

use std::sync::OnceLock;

use regex::Regex;

/// How a character takes part in word breaking (x/text's three categories).
#[derive(Clone, Copy, PartialEq, Eq)]
enum WordBreak {
    /// ALetter, Hebrew_Letter, Numeric, ExtendNumLet, Extend, Format, ZWJ: never breaks.
    Letter,
    /// MidLetter, MidNumLet, Single_Quote: inside a word, unless doubled.
    Mid,
    /// Everything else: always breaks.
    Break,
}

fn category(c: char) -> WordBreak {
    if c.is_ascii() {
        return match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' => WordBreak::Letter,
            '\'' | '.' | ':' => WordBreak::Mid,
            _ => WordBreak::Break,
        };
    }
    static CLASSES: OnceLock<(Regex, Regex)> = OnceLock::new();
    let (mid, letter) = CLASSES.get_or_init(|| {
        let class = |values: &[&str]| {
            let body: String = values.iter().map(|v| format!(r"\p{{WB={v}}}")).collect();
            Regex::new(&format!("^[{body}]$")).expect("Word_Break classes")
        };
        (
            class(&["MidLetter", "MidNumLet", "Single_Quote"]),
            class(&[
                "ALetter",
                "Hebrew_Letter",
                "Numeric",
                "ExtendNumLet",
                "Extend",
                "Format",
                "ZWJ",
            ]),
        )
    });
    let mut buf = [0u8; 4];
    let s = c.encode_utf8(&mut buf);
    if mid.is_match(s) {
        WordBreak::Mid
    } else if letter.is_match(s) {
        WordBreak::Letter
    } else {
        WordBreak::Break
    }
}

/// The title-case letters (Unicode category Lt), which are neither upper nor lower case.
fn is_titlecase(c: char) -> bool {
    matches!(c, 'ǅ' | 'ǈ' | 'ǋ' | 'ǲ' | '\u{1F88}'..='\u{1F8F}' | '\u{1F98}'..='\u{1F9F}' | '\u{1FA8}'..='\u{1FAF}' | 'ᾼ' | 'ῌ' | 'ῼ')
}

/// Unicode's Cased property.
fn is_cased(c: char) -> bool {
    c.is_lowercase() || c.is_uppercase() || is_titlecase(c)
}

/// Greek letters with a subscript iota: their simple upper and title case is the one-rune
/// capital with the iota (`ᾳ` to `ᾼ`), though their full upper case is two runes.
fn iota_capital(c: char) -> Option<char> {
    let u = u32::from(c);
    let mapped = match u {
        0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => u + 8,
        0x1FB3 | 0x1FC3 | 0x1FF3 => u + 9,
        _ => return None,
    };
    char::from_u32(mapped)
}

/// Unicode's simple upper-case mapping of one rune (Go's `unicode.ToUpper`).
fn simple_upper(c: char) -> char {
    if let Some(i) = iota_capital(c) {
        return i;
    }
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(m), None) => m,
        _ => c,
    }
}

/// Unicode's simple lower-case mapping of one rune (Go's `unicode.ToLower`).
fn simple_lower(c: char) -> char {
    if c == 'İ' {
        return 'i';
    }
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(m), None) => m,
        _ => c,
    }
}

/// Go's `strings.ToUpper` (`upper`) or `strings.ToLower`: rune by rune, simple mappings.
pub(crate) fn map_chars(s: &str, upper: bool) -> String {
    if s.is_ascii() {
        return if upper {
            s.to_ascii_uppercase()
        } else {
            s.to_ascii_lowercase()
        };
    }
    s.chars()
        .map(|c| {
            if upper {
                simple_upper(c)
            } else {
                simple_lower(c)
            }
        })
        .collect()
}

/// Appends the title case of `c` (Unicode's full title-case mapping).
fn push_title(out: &mut String, c: char) {
    match c {
        'Ǆ' | 'ǅ' | 'ǆ' => out.push('ǅ'),
        'Ǉ' | 'ǈ' | 'ǉ' => out.push('ǈ'),
        'Ǌ' | 'ǋ' | 'ǌ' => out.push('ǋ'),
        'Ǳ' | 'ǲ' | 'ǳ' => out.push('ǲ'),
        'ŉ' => out.push_str("\u{2BC}N"),
        _ if is_titlecase(c) => out.push(c),
        _ => {
            if let Some(i) = iota_capital(c) {
                out.push(i);
                return;
            }
            // A multi-rune upper case (`ß` is `SS`, `ﬁ` is `FI`) title-cases to its first rune
            // followed by the rest lower-cased (`Ss`, `Fi`).
            let mut upper = c.to_uppercase();
            if let Some(first) = upper.next() {
                out.push(first);
            }
            for rest in upper {
                out.extend(rest.to_lowercase());
            }
        }
    }
}

/// Whether the `Σ` at `i` ends a word: a cased letter before it and none after it, skipping
/// case-ignorable runes (x/text's final-sigma rule).
fn final_sigma(chars: &[char], i: usize) -> bool {
    let ignorable =
        |c: char| !is_cased(c) && category(c) != WordBreak::Break && !c.is_alphanumeric();
    let before = chars[..i]
        .iter()
        .rev()
        .find(|c| !ignorable(**c))
        .is_some_and(|c| is_cased(*c));
    let after = chars[i + 1..]
        .iter()
        .find(|c| !ignorable(**c))
        .is_some_and(|c| is_cased(*c));
    before && !after
}

/// `cases.Title(language.AmericanEnglish).String(s)`.
pub(crate) fn title(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut mid_word = false;
    for (i, &c) in chars.iter().enumerate() {
        let was_mid = category(c) == WordBreak::Mid && !is_cased(c);
        if is_cased(c) {
            if !mid_word {
                push_title(&mut out, c);
                mid_word = true;
            } else if c == 'Σ' && final_sigma(&chars, i) {
                out.push('ς');
            } else {
                out.extend(c.to_lowercase());
            }
        } else {
            out.push(c);
            if category(c) == WordBreak::Break {
                mid_word = false;
            }
        }
        if was_mid
            && chars
                .get(i + 1)
                .is_some_and(|n| category(*n) == WordBreak::Mid && !is_cased(*n))
        {
            mid_word = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outputs of Go's `cases.Title(language.AmericanEnglish)`, `strings.ToUpper` and
    /// `strings.ToLower` (golang.org/x/text as Debian packages it).
    #[test]
    fn as_go_maps_case() {
        let cases = [
            ("hELLO wORLD", "Hello World", "HELLO WORLD", "hello world"),
            ("it's o'neil", "It's O'neil", "IT'S O'NEIL", "it's o'neil"),
            (
                "straße ßtraße",
                "Straße Sstraße",
                "STRAßE ßTRAßE",
                "straße ßtraße",
            ),
            (
                "3rd place 1st",
                "3Rd Place 1St",
                "3RD PLACE 1ST",
                "3rd place 1st",
            ),
            (
                "a.b a..b a:b a-b a_b",
                "A.b A..B A:b A-B A_b",
                "A.B A..B A:B A-B A_B",
                "a.b a..b a:b a-b a_b",
            ),
            ("ǆemal Ǆemal", "ǅemal ǅemal", "ǄEMAL ǄEMAL", "ǆemal ǆemal"),
            ("ﬁnal", "Final", "ﬁNAL", "ﬁnal"),
            ("ŉ ǰ", "\u{2BC}N J\u{30C}", "ŉ ǰ", "ŉ ǰ"),
            ("ᾳ ᾀ", "ᾼ ᾈ", "ᾼ ᾈ", "ᾳ ᾀ"),
            (
                "ΟΔΟΣ οδος. Σ",
                "Οδος Οδος. Σ",
                "ΟΔΟΣ ΟΔΟΣ. Σ",
                "οδοσ οδος. σ",
            ),
            ("İstanbul ıi", "İstanbul Ii", "İSTANBUL II", "istanbul ıi"),
            ("привет МИР", "Привет Мир", "ПРИВЕТ МИР", "привет мир"),
            (
                "don’t 日本 text",
                "Don’t 日本 Text",
                "DON’T 日本 TEXT",
                "don’t 日本 text",
            ),
            (
                "\"quoted\" (paren) www.example.com",
                "\"Quoted\" (Paren) Www.example.com",
                "\"QUOTED\" (PAREN) WWW.EXAMPLE.COM",
                "\"quoted\" (paren) www.example.com",
            ),
            ("tab\tsep", "Tab\tSep", "TAB\tSEP", "tab\tsep"),
        ];
        for (input, t, u, l) in cases {
            assert_eq!(title(input), t, "title {input:?}");
            assert_eq!(map_chars(input, true), u, "toUpper {input:?}");
            assert_eq!(map_chars(input, false), l, "toLower {input:?}");
        }
    }
}
