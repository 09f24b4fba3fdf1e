//! The event list's side of the store: each event's JSON, as the decision
//! log wrote it, put back together from its row and its detail (a line of
//! its writer batch's packed details, or for events stored before layout 2
//! the whole JSON in `event_details`).

use rusqlite::{Connection, OptionalExtension};

/// The columns [`json`] reads, in its order, for a `SELECT` from
/// `events`.
pub(super) const COLUMNS: &str = "ts_ms, request_id, tenant, version, client_ip, country,
    method, path, action, status, mode, eval_us, id, detail_at,
    (SELECT detail FROM event_details d WHERE d.id = events.id)";

/// Reads events' details out of their batches, keeping the batches it has
/// unpacked (a search's events are mostly of a few batches).
pub(super) struct Details<'c> {
    conn: &'c Connection,
    /// first id → (last id, the lines).
    batches: std::collections::HashMap<i64, (i64, Vec<u8>)>,
}

impl<'c> Details<'c> {
    pub(super) fn new(conn: &'c Connection) -> Self {
        Details {
            conn,
            batches: Default::default(),
        }
    }

    /// Line `at` of the batch that holds event `id`'s detail (None when
    /// retention took it, or its batch is unreadable: logged).
    fn line(&mut self, id: i64, at: i64) -> rusqlite::Result<Option<String>> {
        let cached = self
            .batches
            .iter()
            .find(|(first, (last, _))| (**first..=*last).contains(&id))
            .map(|(first, _)| *first);
        let first = match cached {
            Some(first) => first,
            None => {
                let found = self
                    .conn
                    .prepare_cached(
                        "SELECT first_id, last_id, details FROM detail_batches
                         WHERE first_id <= ?1 ORDER BY first_id DESC LIMIT 1",
                    )?
                    .query_row([id], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get::<_, Vec<u8>>(2)?))
                    })
                    .optional()?;
                let Some((first, last, packed)) = found else {
                    return Ok(None);
                };
                let lines = unpack(&packed)
                    .inspect_err(|e| {
                        tracing::error!("analytics store: details of batch {first} unreadable: {e}")
                    })
                    .unwrap_or_default();
                self.batches.insert(first, (last, lines));
                first
            }
        };
        let (last, lines) = &self.batches[&first];
        if id > *last {
            return Ok(None);
        }
        Ok(lines
            .split(|b| *b == b'\n')
            .nth(at as usize)
            .map(|l| String::from_utf8_lossy(l).into_owned()))
    }
}

/// Largest unpacked batch of details [`unpack`] accepts: a damaged size
/// prefix must not make the reader allocate gigabytes (a batch is at most
/// 1,024 details of a few KB).
const MAX_UNPACKED: usize = 256 << 20;

/// A batch's details from their packed form (LZ4 block, size prepended).
fn unpack(packed: &[u8]) -> Result<Vec<u8>, String> {
    let (size, _) = lz4_flex::block::uncompressed_size(packed).map_err(|e| e.to_string())?;
    if size > MAX_UNPACKED {
        return Err(format!("claims {size} bytes unpacked"));
    }
    lz4_flex::block::decompress_size_prepended(packed).map_err(|e| e.to_string())
}

/// The event as the decision log wrote it (the same fields and values), from
/// the [`COLUMNS`] of its row at `first`: the row's columns, then its
/// detail's fields, then `rule_ids` from the findings. A row of layout 1 has
/// NULL method, status, mode and version, and its whole JSON as its detail.
pub(super) fn json(
    r: &rusqlite::Row<'_>,
    first: usize,
    details: &mut Details<'_>,
) -> rusqlite::Result<serde_json::Map<String, serde_json::Value>> {
    use serde_json::Value;
    let mut o = serde_json::Map::new();
    let ts_ms: i64 = r.get(first)?;
    let ts = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ts_ms.max(0) as u64);
    o.insert(
        "ts".into(),
        humantime::format_rfc3339_millis(ts).to_string().into(),
    );
    let names = [
        "request_id",
        "tenant",
        "tenant_version",
        "client_ip",
        "country",
        "method",
        "path",
        "action",
        "status",
        "mode",
        "eval_us",
    ];
    for (i, name) in names.into_iter().enumerate() {
        let value = match r.get_ref(first + 1 + i)? {
            rusqlite::types::ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t)),
            rusqlite::types::ValueRef::Integer(n) => Value::from(n),
            _ => continue,
        };
        o.insert(name.into(), value);
    }
    let at = first + 1 + names.len();
    let (id, detail_at): (i64, Option<i64>) = (r.get(at)?, r.get(at + 1)?);
    let detail = match detail_at {
        Some(line) => details.line(id, line)?,
        None => r.get(at + 2)?,
    };
    if let Some(Ok(Value::Object(d))) = detail.map(|d| serde_json::from_str::<Value>(&d)) {
        o.extend(d);
    }
    if !o.contains_key("rule_ids") {
        let ids: Vec<Value> = o
            .get("findings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| f.get("rule_id").cloned())
            .collect();
        o.insert("rule_ids".into(), ids.into());
    }
    Ok(o)
}
