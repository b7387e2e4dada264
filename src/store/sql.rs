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

    pub fn as_str(&self) -> &str {
        &self.text
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

/// Insert many rows into a populated table with triggers and foreign keys, in the order given.
///
/// On SQLite every statement that fires triggers keeps a statement journal, copying each page it
/// first touches, and binding goes through sqlx value by value: with one multi-row `INSERT` per
/// 2,000 parameters a member row cost 80 µs (100,000 rows: 8 s), against 12 µs for one
/// `INSERT … SELECT`. So on SQLite all rows travel as one JSON text and go in with one statement,
/// `INSERT … SELECT … FROM json_each(?)` (blobs as hex, `unhex`). PostgreSQL has no statement
/// journal: rows go in with [`insert_rows`].
pub async fn insert_rows_at_once(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &str,
    rows: Vec<Vec<Arg>>,
) -> Result<(), sqlx::Error> {
    if conn.backend_name() != "SQLite" {
        return insert_rows(conn, table, columns, rows).await;
    }
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let selects: Vec<String> = first
        .iter()
        .enumerate()
        .map(|(i, a)| match a {
            Arg::Blob(_) => format!("unhex(value ->> {i})"),
            _ => format!("value ->> {i}"),
        })
        .collect();
    let mut json = String::with_capacity(rows.len() * 256);
    json.push('[');
    for (r, row) in rows.into_iter().enumerate() {
        json.push_str(if r == 0 { "[" } else { ",[" });
        for (i, a) in row.into_iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            match a {
                Arg::Int(n) => json.push_str(&n.to_string()),
                Arg::Text(t) => json.push_str(&serde_json::Value::String(t).to_string()),
                Arg::Blob(b) => {
                    json.push('"');
                    json.push_str(&hex::encode(b));
                    json.push('"');
                }
                Arg::NullInt | Arg::NullText => json.push_str("null"),
            }
        }
        json.push(']');
    }
    json.push(']');
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {table} ({columns}) SELECT {} FROM json_each(?)",
        selects.join(", ")
    )))
    .bind(json)
    .execute(&mut *conn)
    .await?;
    Ok(())
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
