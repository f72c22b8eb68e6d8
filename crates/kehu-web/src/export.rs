//! Customer list downloads, for the API and the list page alike: the store
//! writes the export to an anonymous temporary file (CSV, or XLSX in
//! constant-memory mode) in chunks, then the file is streamed to the client
//! with its type and a file name dated in the business time zone.

use crate::state::AppState;
use axum::body::Body;
use axum::http::header;
use axum::response::Response;
use kehu_domain::export::Format;
use kehu_domain::role::Principal;
use kehu_domain::time::Timestamp;
use kehu_store::customers::{Filter, Sort};
use kehu_store::export::{self, Exporter};
use kehu_store::Error as StoreError;
use std::io::{Seek, SeekFrom, Write};

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("export file: {e}"))
}

/// The customers `p` may see that match `f`, as a download.
pub async fn customers(
    s: &AppState,
    p: &Principal,
    f: &Filter,
    sort: Sort,
    format: Format,
) -> Result<Response, StoreError> {
    if !p.can_export() {
        return Err(StoreError::Forbidden);
    }
    let tz = s.config.timezone;
    let mut file = std::io::BufWriter::new(tempfile::tempfile().map_err(io)?);
    export::customers(&s.db, Exporter::User(p), f, sort, format, tz, &mut file).await?;
    file.flush().map_err(io)?;
    let mut file = file.into_inner().map_err(io)?;
    let len = file.seek(SeekFrom::End(0)).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let day = Timestamp::now().utc().with_timezone(&tz).date_naive();
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    Response::builder()
        .header(header::CONTENT_TYPE, format.content_type())
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", format.file_name(day)),
        )
        .header(header::CONTENT_LENGTH, len)
        .body(Body::from_stream(stream))
        .map_err(io)
}
