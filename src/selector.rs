//! Message selectors: the JMS/SQL-92 subset ActiveMQ evaluates on the
//! `selector` header of a SUBSCRIBE.
//!
//! A selector is parsed once, at SUBSCRIBE (a selector that does not parse
//! is an ERROR naming the column), then evaluated against each message's
//! headers. It has comparisons (`= <> < <= > >=`), `AND OR NOT`, `IN`,
//! `LIKE` with `ESCAPE`, `BETWEEN`, `IS [NOT] NULL`, arithmetic
//! (`+ - * /`), string, numeric and boolean literals, with SQL's three-valued
//! logic: a comparison with a missing header is unknown, and only a selector
//! that is true selects.
//!
//! Values are typed as ActiveMQ types a STOMP message's: every custom header
//! is a string, read as a number or boolean when compared with one (so
//! `count > 2` holds for `count:3`, and `name > 2` is false for `name:abc`),
//! but not in arithmetic (`count + 1 = 4` is unknown), as ActiveMQ 5.17 was
//! seen to do; the JMS names read the STOMP headers ActiveMQ maps to them: `JMSType` (`type`), `JMSPriority` (`priority`, a number,
//! 4 by default), `JMSCorrelationID` (`correlation-id`), `JMSMessageID`,
//! `JMSTimestamp` (`timestamp`), `JMSExpiration` (`expires`),
//! `JMSDeliveryMode` (`'PERSISTENT'` when `persistent:true`), `JMSReplyTo`,
//! `JMSDestination`. On ActiveMQ a `type` header becomes `JMSType` and is no
//! longer a property, so `type = 'order'` selects nothing there; stompbox
//! does the same.
//!
//! # Examples
//! ```
//! use stompbox::selector::Selector;
//!
//! let selector = Selector::parse("region IN ('eu', 'us') AND JMSPriority > 5").unwrap();
//! let headers = [("region", "eu"), ("priority", "7")];
//! let lookup = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
//! assert!(selector.matches(lookup));
//!
//! let error = Selector::parse("region = 'eu' AND").unwrap_err();
//! assert_eq!(error.column, 18);
//! assert!(error.to_string().contains("column 18"), "{error}");
//! ```

use std::fmt;

/// A parsed selector.
///
/// # Examples
/// ```
/// use stompbox::selector::Selector;
/// let s = Selector::parse("color = 'red' OR size BETWEEN '1' AND '3'").unwrap();
/// assert!(s.matches(|name| (name == "color").then_some("red")));
/// assert!(!s.matches(|_| None));
/// assert_eq!(s.text(), "color = 'red' OR size BETWEEN '1' AND '3'");
/// ```
#[derive(Clone, Debug)]
pub struct Selector {
    text: String,
    expr: Expr,
}

/// Why a selector does not parse, and where.
///
/// # Examples
/// ```
/// use stompbox::selector::Selector;
/// let e = Selector::parse("a = = 1").unwrap_err();
/// assert_eq!(e.column, 5);
/// assert_eq!(e.to_string(), "invalid selector 'a = = 1' at column 5: expected a value, found '='");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorError {
    /// The selector as given.
    pub selector: String,
    /// Where the problem is: the column (1-based, in characters).
    pub column: usize,
    /// What was wrong there.
    pub problem: String,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid selector '{}' at column {}: {}",
            self.selector, self.column, self.problem
        )
    }
}

impl std::error::Error for SelectorError {}

impl Selector {
    /// Parses `text`.
    ///
    /// # Errors
    /// [`SelectorError`] names the column and what was expected there.
    ///
    /// # Examples
    /// ```
    /// use stompbox::selector::Selector;
    /// assert!(Selector::parse("name LIKE 'a\\_%' ESCAPE '\\'").is_ok());
    /// assert!(Selector::parse("name LIKE").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let fail = |column: usize, problem: String| SelectorError {
            selector: text.to_owned(),
            column,
            problem,
        };
        let tokens = lex(text).map_err(|(column, problem)| fail(column, problem))?;
        let mut parser = Parser { tokens, at: 0 };
        let expr = parser
            .whole()
            .map_err(|(column, problem)| fail(column, problem))?;
        Ok(Selector {
            text: text.to_owned(),
            expr,
        })
    }

    /// The selector as written.
    ///
    /// # Examples
    /// ```
    /// use stompbox::selector::Selector;
    /// assert_eq!(Selector::parse("a IS NULL").unwrap().text(), "a IS NULL");
    /// ```
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether a message whose STOMP headers `header` looks up is selected:
    /// the selector is true for it (false and unknown do not select).
    ///
    /// # Examples
    /// ```
    /// use stompbox::selector::Selector;
    /// let s = Selector::parse("NOT (kind = 'x')").unwrap();
    /// assert!(s.matches(|_| Some("y")));
    /// assert!(!s.matches(|_| None), "NOT unknown is unknown");
    /// ```
    pub fn matches<'a>(&self, header: impl Fn(&str) -> Option<&'a str>) -> bool {
        let lookup = |name: &str| property(name, &header);
        matches!(eval(&self.expr, &lookup), Value::Bool(true))
    }
}

/// The value of identifier `name`, typed as ActiveMQ types it.
fn property<'a>(name: &str, header: &impl Fn(&str) -> Option<&'a str>) -> Value {
    let text = |h: &str| header(h).map_or(Value::Null, |v| Value::Str(v.to_owned()));
    let number = |h: &str, default: Option<i64>| match header(h).and_then(|v| v.parse().ok()) {
        Some(n) => Value::Long(n),
        None => default.map_or(Value::Null, Value::Long),
    };
    match name {
        "JMSType" => text("type"),
        "JMSCorrelationID" => text("correlation-id"),
        "JMSMessageID" => text("message-id"),
        "JMSReplyTo" => text("reply-to"),
        "JMSDestination" => text("destination"),
        "JMSPriority" => number("priority", Some(4)),
        "JMSTimestamp" => number("timestamp", None),
        "JMSExpiration" => number("expires", Some(0)),
        "JMSDeliveryMode" => Value::Str(
            if header("persistent") == Some("true") {
                "PERSISTENT"
            } else {
                "NON_PERSISTENT"
            }
            .to_owned(),
        ),
        // Headers ActiveMQ turns into JMS fields are no longer properties.
        "type" | "correlation-id" | "priority" | "expires" | "persistent" | "reply-to" => {
            Value::Null
        }
        _ => text(name),
    }
}

// ---- values and evaluation ---------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Value {
    Null,
    Bool(bool),
    Long(i64),
    Double(f64),
    Str(String),
}

impl Value {
    fn number(&self) -> Option<f64> {
        match self {
            Value::Long(n) => Some(*n as f64),
            Value::Double(d) => Some(*d),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Compare {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Clone, Debug)]
enum Expr {
    Literal(Value),
    Ident(String),
    Neg(Box<Expr>),
    Arith(Arith, Box<Expr>, Box<Expr>),
    Compare(Compare, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Between {
        value: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    In {
        value: Box<Expr>,
        list: Vec<String>,
        negated: bool,
    },
    Like {
        value: Box<Expr>,
        pattern: Vec<LikePart>,
        negated: bool,
    },
    IsNull {
        value: Box<Expr>,
        negated: bool,
    },
}

#[derive(Clone, Debug, PartialEq)]
enum LikePart {
    Char(char),
    /// `_`
    One,
    /// `%`
    Any,
}

/// Three-valued logic: `Bool` or `Null` (unknown).
fn truth(value: Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(b),
        _ => None,
    }
}

fn from_truth(t: Option<bool>) -> Value {
    t.map_or(Value::Null, Value::Bool)
}

fn eval(expr: &Expr, lookup: &impl Fn(&str) -> Value) -> Value {
    match expr {
        Expr::Literal(v) => v.clone(),
        Expr::Ident(name) => lookup(name),
        Expr::Neg(e) => match eval(e, lookup) {
            Value::Long(n) => Value::Long(n.wrapping_neg()),
            Value::Double(d) => Value::Double(-d),
            _ => Value::Null,
        },
        Expr::Arith(op, a, b) => arith(*op, eval(a, lookup), eval(b, lookup)),
        Expr::Compare(op, a, b) => compare(*op, &eval(a, lookup), &eval(b, lookup)),
        Expr::And(a, b) => {
            let left = truth(eval(a, lookup));
            if left == Some(false) {
                return Value::Bool(false);
            }
            match (left, truth(eval(b, lookup))) {
                (_, Some(false)) => Value::Bool(false),
                (Some(true), Some(true)) => Value::Bool(true),
                _ => Value::Null,
            }
        }
        Expr::Or(a, b) => {
            let left = truth(eval(a, lookup));
            if left == Some(true) {
                return Value::Bool(true);
            }
            match (left, truth(eval(b, lookup))) {
                (_, Some(true)) => Value::Bool(true),
                (Some(false), Some(false)) => Value::Bool(false),
                _ => Value::Null,
            }
        }
        Expr::Not(e) => from_truth(truth(eval(e, lookup)).map(|b| !b)),
        Expr::Between {
            value,
            low,
            high,
            negated,
        } => {
            let v = eval(value, lookup);
            let ge = truth(compare(Compare::Ge, &v, &eval(low, lookup)));
            let le = truth(compare(Compare::Le, &v, &eval(high, lookup)));
            let inside = match (ge, le) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            from_truth(inside.map(|b| b != *negated))
        }
        Expr::In {
            value,
            list,
            negated,
        } => match eval(value, lookup) {
            Value::Str(s) => Value::Bool(list.contains(&s) != *negated),
            _ => Value::Null,
        },
        Expr::Like {
            value,
            pattern,
            negated,
        } => match eval(value, lookup) {
            Value::Str(s) => {
                let chars: Vec<char> = s.chars().collect();
                Value::Bool(like(&chars, pattern) != *negated)
            }
            _ => Value::Null,
        },
        Expr::IsNull { value, negated } => {
            Value::Bool((eval(value, lookup) == Value::Null) != *negated)
        }
    }
}

fn arith(op: Arith, a: Value, b: Value) -> Value {
    if let (Value::Long(x), Value::Long(y)) = (&a, &b) {
        return match op {
            Arith::Add => Value::Long(x.wrapping_add(*y)),
            Arith::Sub => Value::Long(x.wrapping_sub(*y)),
            Arith::Mul => Value::Long(x.wrapping_mul(*y)),
            Arith::Div if *y == 0 => Value::Null,
            Arith::Div => Value::Long(x.wrapping_div(*y)),
        };
    }
    match (a.number(), b.number()) {
        (Some(x), Some(y)) => Value::Double(match op {
            Arith::Add => x + y,
            Arith::Sub => x - y,
            Arith::Mul => x * y,
            Arith::Div => x / y,
        }),
        _ => Value::Null,
    }
}

/// A string compared with a number or a boolean is read as one, as
/// ActiveMQ reads STOMP headers (a string that is not one compares false).
fn convert(a: &Value, b: &Value) -> Option<(Value, Value)> {
    let read = |text: &str, like: &Value| match like {
        Value::Long(_) => text.trim().parse().ok().map(Value::Long),
        Value::Double(_) => text.trim().parse().ok().map(Value::Double),
        Value::Bool(_) => Some(Value::Bool(text.eq_ignore_ascii_case("true"))),
        _ => None,
    };
    match (a, b) {
        (Value::Str(x), Value::Long(_) | Value::Double(_) | Value::Bool(_)) => {
            Some((read(x, b)?, b.clone()))
        }
        (Value::Long(_) | Value::Double(_) | Value::Bool(_), Value::Str(y)) => {
            Some((a.clone(), read(y, a)?))
        }
        _ => None,
    }
}

/// A comparison: unknown with a missing value; a string read as the number
/// or boolean it is compared with; false across other types.
fn compare(op: Compare, a: &Value, b: &Value) -> Value {
    use std::cmp::Ordering;
    if matches!((a, b), (Value::Str(_), Value::Str(_))) {
        // fall through
    } else if let Some((a, b)) = convert(a, b) {
        return compare(op, &a, &b);
    } else if matches!(a, Value::Str(_)) || matches!(b, Value::Str(_)) {
        return match (a, b) {
            (Value::Null, _) | (_, Value::Null) => Value::Null,
            _ => Value::Bool(false),
        };
    }
    let order: Option<Ordering> = match (a, b) {
        (Value::Null, _) | (_, Value::Null) => return Value::Null,
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => {
            return match op {
                Compare::Eq => Value::Bool(x == y),
                Compare::Ne => Value::Bool(x != y),
                _ => Value::Bool(false),
            };
        }
        (Value::Long(x), Value::Long(y)) => Some(x.cmp(y)),
        _ => match (a.number(), b.number()) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            _ => None,
        },
    };
    let Some(order) = order else {
        return Value::Bool(false);
    };
    Value::Bool(match op {
        Compare::Eq => order == Ordering::Equal,
        Compare::Ne => order != Ordering::Equal,
        Compare::Lt => order == Ordering::Less,
        Compare::Le => order != Ordering::Greater,
        Compare::Gt => order == Ordering::Greater,
        Compare::Ge => order != Ordering::Less,
    })
}

/// `LIKE` matching: greedy, going back only to the latest `%`, so any
/// pattern costs at most text × pattern steps.
fn like(text: &[char], pattern: &[LikePart]) -> bool {
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(LikePart::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(LikePart::One) => {
                t += 1;
                p += 1;
            }
            Some(LikePart::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|part| *part == LikePart::Any)
}

// ---- lexing ------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// A keyword, upper-cased.
    Word(&'static str),
    Str(String),
    Long(i64),
    Double(f64),
    Sym(&'static str),
    End,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "'{s}'"),
            Tok::Word(w) => write!(f, "{w}"),
            Tok::Str(s) => write!(f, "the string '{s}'"),
            Tok::Long(n) => write!(f, "{n}"),
            Tok::Double(d) => write!(f, "{d}"),
            Tok::Sym(s) => write!(f, "'{s}'"),
            Tok::End => write!(f, "the end"),
        }
    }
}

const KEYWORDS: [&str; 13] = [
    "AND", "OR", "NOT", "IN", "LIKE", "ESCAPE", "BETWEEN", "IS", "NULL", "TRUE", "FALSE", "ABS",
    "MOD",
];

type Spanned = (Tok, usize);
type Failed = (usize, String);

fn lex(text: &str) -> Result<Vec<Spanned>, Failed> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '\'' {
            let (s, next) =
                quoted(&chars, i, '\'').ok_or((column, "a string that never ends".to_owned()))?;
            tokens.push((Tok::Str(s), column));
            i = next;
        } else if c == '"' {
            let (s, next) = quoted(&chars, i, '"')
                .ok_or((column, "a quoted name that never ends".to_owned()))?;
            tokens.push((Tok::Ident(s), column));
            i = next;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let (tok, next) = number(&chars, i)?;
            tokens.push((tok, column));
            i = next;
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '$' | '.'))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let upper = word.to_ascii_uppercase();
            match KEYWORDS.iter().find(|k| **k == upper) {
                Some(k) => tokens.push((Tok::Word(k), column)),
                None => tokens.push((Tok::Ident(word), column)),
            }
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let sym = ["<>", "<=", ">="]
                .into_iter()
                .find(|s| *s == two)
                .or_else(|| {
                    ["=", "<", ">", "(", ")", ",", "+", "-", "*", "/"]
                        .into_iter()
                        .find(|s| s.starts_with(c))
                })
                .ok_or((column, format!("unexpected character '{c}'")))?;
            tokens.push((Tok::Sym(sym), column));
            i += sym.len();
        }
    }
    tokens.push((Tok::End, chars.len() + 1));
    Ok(tokens)
}

/// A quoted run from `start` (the opening quote), a doubled quote standing
/// for one; the text and the index after the closing quote.
fn quoted(chars: &[char], start: usize, quote: char) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut i = start + 1;
    loop {
        let c = *chars.get(i)?;
        if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                out.push(quote);
                i += 2;
                continue;
            }
            return Some((out, i + 1));
        }
        out.push(c);
        i += 1;
    }
}

fn number(chars: &[char], start: usize) -> Result<(Tok, usize), Failed> {
    let mut i = start;
    let bad = |i: usize| {
        (
            start + 1,
            format!(
                "'{}' is not a number",
                chars[start..i].iter().collect::<String>()
            ),
        )
    };
    if chars[i] == '0' && matches!(chars.get(i + 1), Some('x' | 'X')) {
        i += 2;
        while i < chars.len() && chars[i].is_ascii_hexdigit() {
            i += 1;
        }
        let digits: String = chars[start + 2..i].iter().collect();
        let n = i64::from_str_radix(&digits, 16).map_err(|_| bad(i))?;
        if matches!(chars.get(i), Some('l' | 'L')) {
            i += 1;
        }
        return Ok((Tok::Long(n), i));
    }
    let mut float = false;
    while i < chars.len() {
        match chars[i] {
            '0'..='9' => {}
            '.' => float = true,
            'e' | 'E' if matches!(chars.get(i + 1), Some('0'..='9' | '+' | '-')) => {
                float = true;
                i += 1;
            }
            _ => break,
        }
        i += 1;
    }
    let text: String = chars[start..i].iter().collect();
    if matches!(chars.get(i), Some('l' | 'L')) && !float {
        i += 1;
    } else if matches!(chars.get(i), Some('d' | 'D' | 'f' | 'F')) {
        i += 1;
        float = true;
    }
    if float {
        return text
            .parse()
            .map(|d| (Tok::Double(d), i))
            .map_err(|_| bad(i));
    }
    let n = if text.len() > 1 && text.starts_with('0') {
        i64::from_str_radix(&text[1..], 8)
    } else {
        text.parse()
    };
    n.map(|n| (Tok::Long(n), i)).map_err(|_| bad(i))
}

// ---- parsing -----------------------------------------------------------------

struct Parser {
    tokens: Vec<Spanned>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.tokens[self.at].0
    }

    fn column(&self) -> usize {
        self.tokens[self.at].1
    }

    fn next(&mut self) -> Tok {
        let tok = self.tokens[self.at].0.clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        tok
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == tok {
            self.next();
            true
        } else {
            false
        }
    }

    fn expected<T>(&self, what: &str) -> Result<T, Failed> {
        Err((
            self.column(),
            format!("expected {what}, found {}", self.peek()),
        ))
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<(), Failed> {
        if self.eat(&tok) {
            Ok(())
        } else {
            self.expected(what)
        }
    }

    fn whole(&mut self) -> Result<Expr, Failed> {
        let expr = self.or()?;
        if *self.peek() != Tok::End {
            return self.expected("AND, OR or the end");
        }
        Ok(expr)
    }

    fn or(&mut self) -> Result<Expr, Failed> {
        let mut left = self.and()?;
        while self.eat(&Tok::Word("OR")) {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, Failed> {
        let mut left = self.not()?;
        while self.eat(&Tok::Word("AND")) {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, Failed> {
        if self.eat(&Tok::Word("NOT")) {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr, Failed> {
        let left = self.sum()?;
        let compare = match self.peek() {
            Tok::Sym("=") => Some(Compare::Eq),
            Tok::Sym("<>") => Some(Compare::Ne),
            Tok::Sym("<") => Some(Compare::Lt),
            Tok::Sym("<=") => Some(Compare::Le),
            Tok::Sym(">") => Some(Compare::Gt),
            Tok::Sym(">=") => Some(Compare::Ge),
            _ => None,
        };
        if let Some(op) = compare {
            self.next();
            let right = self.sum()?;
            return Ok(Expr::Compare(op, Box::new(left), Box::new(right)));
        }
        let value = Box::new(left);
        if self.eat(&Tok::Word("IS")) {
            let negated = self.eat(&Tok::Word("NOT"));
            self.expect(Tok::Word("NULL"), "NULL")?;
            return Ok(Expr::IsNull { value, negated });
        }
        let negated = self.eat(&Tok::Word("NOT"));
        match self.peek() {
            Tok::Word("BETWEEN") => {
                self.next();
                let low = Box::new(self.sum()?);
                self.expect(Tok::Word("AND"), "AND")?;
                let high = Box::new(self.sum()?);
                Ok(Expr::Between {
                    value,
                    low,
                    high,
                    negated,
                })
            }
            Tok::Word("IN") => {
                self.next();
                let list = self.string_list()?;
                Ok(Expr::In {
                    value,
                    list,
                    negated,
                })
            }
            Tok::Word("LIKE") => {
                self.next();
                let pattern = self.like_pattern()?;
                Ok(Expr::Like {
                    value,
                    pattern,
                    negated,
                })
            }
            _ if negated => self.expected("BETWEEN, IN or LIKE"),
            _ => Ok(*value),
        }
    }

    fn string_list(&mut self) -> Result<Vec<String>, Failed> {
        self.expect(Tok::Sym("("), "'('")?;
        let mut list = Vec::new();
        loop {
            match self.next() {
                Tok::Str(s) => list.push(s),
                _ => {
                    self.at -= 1;
                    return self.expected("a string");
                }
            }
            if !self.eat(&Tok::Sym(",")) {
                break;
            }
        }
        self.expect(Tok::Sym(")"), "',' or ')'")?;
        Ok(list)
    }

    fn like_pattern(&mut self) -> Result<Vec<LikePart>, Failed> {
        let Tok::Str(pattern) = self.peek().clone() else {
            return self.expected("a string pattern");
        };
        self.next();
        let mut escape = None;
        if self.eat(&Tok::Word("ESCAPE")) {
            let column = self.column();
            match self.next() {
                Tok::Str(e) if e.chars().count() == 1 => escape = e.chars().next(),
                _ => return Err((column, "ESCAPE takes a string of one character".to_owned())),
            }
        }
        let mut parts = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            parts.push(match c {
                c if Some(c) == escape => LikePart::Char(chars.next().unwrap_or(c)),
                '%' => LikePart::Any,
                '_' => LikePart::One,
                c => LikePart::Char(c),
            });
        }
        Ok(parts)
    }

    fn sum(&mut self) -> Result<Expr, Failed> {
        let mut left = self.product()?;
        loop {
            let op = match self.peek() {
                Tok::Sym("+") => Arith::Add,
                Tok::Sym("-") => Arith::Sub,
                _ => return Ok(left),
            };
            self.next();
            left = Expr::Arith(op, Box::new(left), Box::new(self.product()?));
        }
    }

    fn product(&mut self) -> Result<Expr, Failed> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Sym("*") => Arith::Mul,
                Tok::Sym("/") => Arith::Div,
                _ => return Ok(left),
            };
            self.next();
            left = Expr::Arith(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, Failed> {
        if self.eat(&Tok::Sym("-")) {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        if self.eat(&Tok::Sym("+")) {
            return self.unary();
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, Failed> {
        let expr = match self.peek().clone() {
            Tok::Str(s) => Expr::Literal(Value::Str(s)),
            Tok::Long(n) => Expr::Literal(Value::Long(n)),
            Tok::Double(d) => Expr::Literal(Value::Double(d)),
            Tok::Word("TRUE") => Expr::Literal(Value::Bool(true)),
            Tok::Word("FALSE") => Expr::Literal(Value::Bool(false)),
            Tok::Word("NULL") => Expr::Literal(Value::Null),
            Tok::Ident(name) => Expr::Ident(name),
            Tok::Sym("(") => {
                self.next();
                let inner = self.or()?;
                self.expect(Tok::Sym(")"), "')'")?;
                return Ok(inner);
            }
            _ => return self.expected("a value"),
        };
        self.next();
        Ok(expr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn selects(selector: &str, headers: &[(&str, &str)]) -> bool {
        let s = Selector::parse(selector).unwrap_or_else(|e| panic!("{e}"));
        s.matches(|name| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v))
    }

    #[rstest]
    #[case("color = 'red'", true)]
    #[case("color <> 'red'", false)]
    #[case("color = 'blue' OR size = 'L'", true)]
    #[case("color = 'red' AND size = 'M'", false)]
    #[case("NOT color = 'blue'", true)]
    #[case("color IN ('blue', 'red')", true)]
    #[case("color NOT IN ('blue', 'red')", false)]
    #[case("color LIKE 'r%'", true)]
    #[case("color LIKE 'r_d'", true)]
    #[case("color LIKE 'r_'", false)]
    #[case("color NOT LIKE '%e%'", false)]
    #[case("code LIKE 'a\\_%' ESCAPE '\\'", true)]
    #[case("code LIKE 'a!_b' ESCAPE '!'", true)]
    #[case("code LIKE 'a!%' ESCAPE '!'", false)]
    #[case("size BETWEEN 'A' AND 'M'", true)]
    #[case("size NOT BETWEEN 'A' AND 'M'", false)]
    #[case("missing IS NULL", true)]
    #[case("color IS NOT NULL", true)]
    #[case("missing = 'x'", false)]
    #[case("NOT missing = 'x'", false)]
    #[case("missing = 'x' OR color = 'red'", true)]
    #[case("count = 3", true)]
    #[case("count > 10", false)]
    #[case("count < 10", true)]
    #[case("color > 2", false)]
    #[case("count + 1 = 4", false)]
    #[case("count = 3.0", true)]
    #[case("count = '3'", true)]
    #[case("JMSPriority = 4", true)]
    #[case("JMSPriority > 3 AND JMSPriority < 5", true)]
    #[case("JMSPriority + 1 = 5.0", true)]
    #[case("2 * 3 - 1 = 5 AND 7 / 2 = 3", true)]
    #[case("-JMSPriority = -4", true)]
    #[case("TRUE", true)]
    #[case("FALSE OR (color = 'red')", true)]
    #[case("type = 'order'", false)]
    #[case("JMSType = 'order'", true)]
    #[case("\"my-header\" = 'dash'", true)]
    #[case("JMSDeliveryMode = 'NON_PERSISTENT'", true)]
    #[case("0x10 = 16 AND 010 = 8 AND 1.5e1 = 15", true)]
    fn evaluates_as_activemq_does(#[case] selector: &str, #[case] expected: bool) {
        let headers = [
            ("color", "red"),
            ("size", "L"),
            ("code", "a_b"),
            ("count", "3"),
            ("type", "order"),
            ("my-header", "dash"),
        ];
        assert_eq!(selects(selector, &headers), expected, "{selector}");
    }

    #[rstest]
    #[case("", 1, "expected a value, found the end")]
    #[case("a =", 4, "expected a value, found the end")]
    #[case("a = 'x", 5, "a string that never ends")]
    #[case("a IN 'x'", 6, "expected '(', found the string 'x'")]
    #[case("a IN ('x', 3)", 12, "expected a string, found 3")]
    #[case("a LIKE 3", 8, "expected a string pattern, found 3")]
    #[case("a IS 'x'", 6, "expected NULL, found the string 'x'")]
    #[case("a = 1 b", 7, "expected AND, OR or the end, found 'b'")]
    #[case("a # 1", 3, "unexpected character '#'")]
    #[case("(a = 1", 7, "expected ')', found the end")]
    #[case("a NOT = 1", 7, "expected BETWEEN, IN or LIKE, found '='")]
    fn names_the_column_of_a_mistake(
        #[case] selector: &str,
        #[case] column: usize,
        #[case] problem: &str,
    ) {
        let error = Selector::parse(selector).unwrap_err();
        assert_eq!((error.column, error.problem.as_str()), (column, problem));
    }

    #[test]
    fn a_long_like_pattern_stays_cheap() {
        let pattern = "%a".repeat(20);
        let s = Selector::parse(&format!("x LIKE '{pattern}b'")).unwrap();
        let text = "a".repeat(40);
        let started = std::time::Instant::now();
        assert!(!s.matches(|_| Some(&text)));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}
