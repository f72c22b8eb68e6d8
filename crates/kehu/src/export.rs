//! `kehu export customers`: the customer list with the filters of the list
//! page, written as CSV or XLSX by the system actor (every customer, phone
//! numbers in full) and audited like any export. The file appears only once
//! it is complete: it is written beside its target and renamed at the end.

use anyhow::{anyhow, bail, Context, Result};
use kehu_domain::customer::{CustomerKind, Grade, Source};
use kehu_domain::export::Format;
use kehu_store::customers::{Filter, Sort};
use kehu_store::export::{self, Exporter};
use kehu_store::{auth, Db};
use std::path::Path;

/// The list's filters and sort, as command-line flags.
#[derive(Debug, clap::Args)]
pub struct Filters {
    /// Search text, as in the list's search box: name or company fragment,
    /// pinyin or initials, mobile digits, e-mail, tag.
    #[arg(long)]
    q: Option<String>,
    /// Login of the customers' owner.
    #[arg(long, value_name = "LOGIN")]
    owner: Option<String>,
    /// Name of the customers' team.
    #[arg(long, value_name = "NAME")]
    team: Option<String>,
    /// A tag name.
    #[arg(long)]
    tag: Option<String>,
    /// referral, event, media, social, competitor, walk_in, website,
    /// exhibition, cold_call, other (or the Chinese label).
    #[arg(long)]
    source: Option<String>,
    /// A, B or C.
    #[arg(long)]
    grade: Option<String>,
    /// person or organization (个人/企业).
    #[arg(long)]
    kind: Option<String>,
    /// -created_at, created_at, name, -name, -updated_at.
    #[arg(long, default_value = "-created_at", allow_hyphen_values = true)]
    sort: String,
    /// The recycle bin instead of live customers.
    #[arg(long)]
    deleted: bool,
}

/// Parses an optional code (or Chinese label) of a closed vocabulary.
fn code<T>(
    flag: &str,
    raw: &Option<String>,
    parse: fn(&str) -> Result<T, kehu_domain::Problem>,
) -> Result<Option<T>> {
    raw.as_deref()
        .map(|s| parse(s).map_err(|p| anyhow!("--{flag}: {}", p.message(kehu_domain::Lang::En))))
        .transpose()
}

impl Filters {
    async fn resolve(&self, db: &Db) -> Result<(Filter, Sort)> {
        let owner_id = match &self.owner {
            Some(login) => Some(crate::user_named(db, login).await?.id),
            None => None,
        };
        let team_id = match &self.team {
            Some(name) => {
                let teams = auth::teams(db).await?;
                let Some(t) = teams.iter().find(|t| t.name == name.trim()) else {
                    let known: Vec<&str> = teams.iter().map(|t| t.name.as_str()).collect();
                    bail!("no team {name:?} (teams: {})", known.join(", "));
                };
                Some(t.id.parse().map_err(|e: String| anyhow!(e))?)
            }
            None => None,
        };
        let sort = Sort::parse(&self.sort).ok_or_else(|| {
            let all: Vec<&str> = Sort::ALL.iter().map(|s| s.code()).collect();
            anyhow!("--sort must be one of {}", all.join(", "))
        })?;
        let filter = Filter {
            q: self.q.clone(),
            owner_id,
            team_id,
            tag: self.tag.clone(),
            source: code("source", &self.source, Source::parse)?,
            grade: code("grade", &self.grade, Grade::parse)?,
            kind: code("kind", &self.kind, CustomerKind::parse)?,
            deleted: self.deleted,
        };
        Ok((filter, sort))
    }
}

/// Writes the customers matching `filters` to `out`; returns the row count.
pub async fn customers(
    db: &Db,
    format: &str,
    out: &Path,
    filters: &Filters,
    tz: chrono_tz::Tz,
) -> Result<u64> {
    let format = Format::parse(format).map_err(|_| anyhow!("--format must be csv or xlsx"))?;
    let (filter, sort) = filters.resolve(db).await?;
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let partial = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut w = std::io::BufWriter::new(partial);
    let rows = export::customers(db, Exporter::System, &filter, sort, format, tz, &mut w)
        .await
        .map_err(crate::show_errors)?;
    let partial = w.into_inner().context("writing the export")?;
    partial
        .persist(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(rows)
}
