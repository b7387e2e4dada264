//! A tiny builder for SQL text with numbered `$n` placeholders and its arguments, for the few
//! queries whose filters are chosen at run time.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe};

#[derive(Debug, Clone)]
pub enum Arg {
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
    /// A NULL of an integer column (PostgreSQL wants NULLs typed).
    NullInt,
    /// A NULL of a text column.
    NullText,
    /// A NULL of a binary column.
    NullBlob,
}

impl Arg {
    pub fn opt_text(v: Option<String>) -> Self {
        v.map_or(Self::NullText, Self::Text)
    }

    pub fn opt_int(v: Option<i64>) -> Self {
        v.map_or(Self::NullInt, Self::Int)
    }
}

#[derive(Debug, Default, Clone)]
pub struct Sql {
    text: String,
    args: Vec<Arg>,
    /// Write `?` instead of `$n` (SQLite only; see [`insert_rows`]).
    anonymous: bool,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: Vec::new(),
            anonymous: false,
        }
    }

    /// Write `?` placeholders when the connection is SQLite (for statements with many
    /// parameters; see [`insert_rows`]).
    pub fn anonymous_on(&mut self, conn: &sqlx::AnyConnection) -> &mut Self {
        self.anonymous = conn.backend_name() == "SQLite";
        self
    }

    /// Append literal SQL (never user input).
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Append a placeholder bound to `arg`.
    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        if self.anonymous {
            self.text.push('?');
        } else {
            self.text.push_str(&format!("${}", self.args.len()));
        }
        self
    }

    pub fn text(&mut self, s: impl Into<String>) -> &mut Self {
        self.bind(Arg::Text(s.into()))
    }

    pub fn int(&mut self, i: i64) -> &mut Self {
        self.bind(Arg::Int(i))
    }

    /// Append `(p1, p2, …)` bound to the texts (the caller keeps the list short).
    pub fn texts_in(&mut self, values: &[String]) -> &mut Self {
        self.push("(");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.text(v.clone());
        }
        self.push(")")
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Bind `arg` as the next numbered parameter without writing its placeholder, for text
    /// that names it (`$1`) itself, perhaps more than once.
    pub fn preset(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        self
    }

    /// This statement inside literal text, e.g. as a subquery, with its parameters.
    pub fn wrap(&self, before: &str, after: &str) -> Self {
        Self {
            text: format!("{before}{}{after}", self.text),
            args: self.args.clone(),
            anonymous: self.anonymous,
        }
    }

    pub fn query(&self) -> Query<'_, Any, AnyArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.text.clone()));
        for a in &self.args {
            q = match a {
                Arg::Int(i) => q.bind(*i),
                Arg::Text(s) => q.bind(s.clone()),
                Arg::Blob(b) => q.bind(b.clone()),
                Arg::NullInt => q.bind(None::<i64>),
                Arg::NullText => q.bind(None::<String>),
                Arg::NullBlob => q.bind(None::<Vec<u8>>),
            };
        }
        q
    }
}

/// Escape `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Most bound parameters in one statement.
pub const MAX_PARAMETERS: usize = 2000;

/// Insert many rows with multi-row `VALUES` statements of at most [`MAX_PARAMETERS`]
/// parameters each.
pub async fn insert_rows(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &str,
    rows: Vec<Vec<Arg>>,
) -> Result<(), sqlx::Error> {
    // sqlx's SQLite driver asks SQLite for every parameter's name, and SQLite finds a named
    // (`$n`) parameter by a linear scan: quadratic in the parameter count (measured: 94% of a
    // bulk load went there). Anonymous `?` parameters have no names to scan.
    let anonymous = conn.backend_name() == "SQLite";
    let width = rows.first().map_or(1, Vec::len).max(1);
    let rows_per_statement = (MAX_PARAMETERS / width).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        // On SQLite, OR FAIL spares the statement journal that multi-row inserts otherwise
        // keep; the caller's transaction still rolls back whole on any error.
        let verb = if anonymous {
            "INSERT OR FAIL"
        } else {
            "INSERT"
        };
        let mut sql = Sql::new(&format!("{verb} INTO {table} ({columns}) VALUES "));
        sql.anonymous = anonymous;
        for (i, row) in rows.by_ref().take(rows_per_statement).enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            for (j, arg) in row.into_iter().enumerate() {
                if j > 0 {
                    sql.push(", ");
                }
                sql.bind(arg);
            }
            sql.push(")");
        }
        sql.query().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The expressions taking column `i` of a JSON row apart, per database.
/// The columns of a JSON row taken apart, by kind (see [`json_column`]).
pub fn json_columns(backend: super::Backend, kinds: &[char]) -> String {
    kinds
        .iter()
        .enumerate()
        .map(|(i, k)| json_column(backend, *k, i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Column `i` of a JSON row: `t` text, `i` integer, `b` hex blob, `j` JSON text.
pub fn json_column(backend: super::Backend, kind: char, i: usize) -> String {
    match (backend, kind) {
        (super::Backend::Sqlite, 'b') => format!("unhex(value ->> {i})"),
        (super::Backend::Sqlite, 'j') => format!("value -> {i}"),
        (super::Backend::Sqlite, _) => format!("value ->> {i}"),
        (super::Backend::Postgres, 'b') => format!("decode(value ->> {i}, 'hex')"),
        (super::Backend::Postgres, 'i') => format!("(value ->> {i})::bigint"),
        (super::Backend::Postgres, 'j') => format!("(value -> {i})::text"),
        (super::Backend::Postgres, _) => format!("value ->> {i}"),
    }
}

/// Rows given as one JSON array of arrays, taken apart by the database in one statement.
///
/// For an import into a populated table (triggers, foreign keys, several indexes) on SQLite,
/// multi-row `INSERT`s of 2,000 bound parameters cost 80 µs a member row (statement journals,
/// sqlx binding value by value); one JSON text per few thousand rows, taken apart by
/// `jsonb_each` (which hands each row on as JSONB instead of re-parsing text), is several times
/// cheaper. PostgreSQL takes the same text with `jsonb_array_elements`.
pub fn json_rows_source(backend: super::Backend) -> &'static str {
    match backend {
        super::Backend::Sqlite => "jsonb_each(jsonb($1))",
        super::Backend::Postgres => "jsonb_array_elements($1::jsonb) AS t(value)",
    }
}

/// Which database a connection talks to.
pub fn backend_of(conn: &sqlx::AnyConnection) -> super::Backend {
    if conn.backend_name() == "SQLite" {
        super::Backend::Sqlite
    } else {
        super::Backend::Postgres
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_and_escape() {
        let mut s = Sql::new("SELECT 1 WHERE a = ");
        s.int(1).push(" AND b = ").text("x");
        assert_eq!(s.as_str(), "SELECT 1 WHERE a = $1 AND b = $2");
        assert_eq!(like_escape("50%_a\\"), "50\\%\\_a\\\\");
    }
}
