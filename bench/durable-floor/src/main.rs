//! The fastest durable acknowledgement this machine allows, as a reference for
//! `bench/run.sh`: an axum server that reads the body and answers 200 only once the body is
//! durable. Nothing is verified, parsed or indexed. A writer thread makes durable whatever
//! is waiting, all at once (group commit), then answers everyone it covered; two writers by
//! default, each with a file or session of its own, so that one gathers bodies while the
//! other waits for the disk (measured here: about a tenth more requests per second than one):
//!
//! - into a journal file: appended, then one `fdatasync`. The file is written with zeros
//!   beforehand, so that syncs overwrite allocated blocks (the cheapest `fdatasync` on
//!   ext4); it wraps around at its end.
//! - into PostgreSQL: one `INSERT` of all the bodies into a table keyed by a sequence, then
//!   `COMMIT` (which waits for the server's WAL flush).
//!
//!   durable-floor PORT JOURNAL_FILE [WRITERS]       (files JOURNAL_FILE.0, .1, ...)
//!   durable-floor PORT postgres://USER@HOST:PORT/DATABASE [WRITERS]
//!
//! Its requests per second, as a ratio to the axum ceiling's, show what durability alone
//! allows on this machine: a server that also does work before answering stays below.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::oneshot;

/// The journal file's size: large enough that a benchmark run rarely wraps.
const JOURNAL_BYTES: u64 = 256 << 20;

type Append = (Bytes, oneshot::Sender<()>);

#[derive(Clone)]
struct Journal(mpsc::Sender<Append>);

async fn hook(State(journal): State<Journal>, body: Bytes) -> StatusCode {
    if body.is_empty() {
        return StatusCode::BAD_REQUEST;
    }
    let (done, durable) = oneshot::channel();
    if journal.0.send((body, done)).is_err() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match durable.await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Where the bodies go.
trait Sink {
    /// Makes every body of `bodies` durable, together.
    fn persist(&mut self, bodies: &[Bytes]) -> Result<(), String>;
}

struct FileSink {
    file: File,
    offset: u64,
    buf: Vec<u8>,
}

impl FileSink {
    fn open(path: &str) -> std::io::Result<Self> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(path)?;
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..(JOURNAL_BYTES >> 20) {
            file.write_all(&zeros)?;
        }
        file.sync_all()?;
        Ok(Self {
            file,
            offset: 0,
            buf: Vec::with_capacity(1 << 20),
        })
    }
}

impl Sink for FileSink {
    fn persist(&mut self, bodies: &[Bytes]) -> Result<(), String> {
        self.buf.clear();
        for body in bodies {
            self.buf
                .extend_from_slice(&(body.len() as u32).to_le_bytes());
            self.buf.extend_from_slice(body);
        }
        if self.offset + self.buf.len() as u64 > JOURNAL_BYTES {
            self.offset = 0;
        }
        self.file
            .write_all_at(&self.buf, self.offset)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| e.to_string())?;
        self.offset += self.buf.len() as u64;
        Ok(())
    }
}

struct PgSink {
    client: postgres::Client,
    insert: postgres::Statement,
}

impl PgSink {
    fn connect(url: &str, create: bool) -> Result<Self, postgres::Error> {
        let mut client = postgres::Client::connect(url, postgres::NoTls)?;
        if create {
            client.batch_execute(
                "DROP TABLE IF EXISTS durable_floor;
                 CREATE TABLE durable_floor (id BIGSERIAL PRIMARY KEY, body BYTEA NOT NULL)",
            )?;
        }
        let insert =
            client.prepare("INSERT INTO durable_floor (body) SELECT unnest($1::bytea[])")?;
        Ok(Self { client, insert })
    }
}

impl Sink for PgSink {
    fn persist(&mut self, bodies: &[Bytes]) -> Result<(), String> {
        let bodies: Vec<&[u8]> = bodies.iter().map(|b| b.as_ref()).collect();
        let mut tx = self.client.transaction().map_err(|e| e.to_string())?;
        tx.execute(&self.insert, &[&bodies])
            .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())
    }
}

/// One writer: in turn with the others, takes whatever is waiting; makes it durable at once,
/// then answers everyone it covered.
fn group_commit(mut sink: Box<dyn Sink + Send>, rx: &Mutex<mpsc::Receiver<Append>>) {
    let mut bodies = Vec::new();
    let mut waiting = Vec::new();
    loop {
        {
            let Ok(rx) = rx.lock() else { return };
            let Ok(first) = rx.recv() else { return };
            let mut next = Some(first);
            while let Some((body, done)) = next {
                bodies.push(body);
                waiting.push(done);
                next = rx.try_recv().ok();
            }
        }
        if let Err(e) = sink.persist(&bodies) {
            eprintln!("cannot make the bodies durable: {e}");
            return; // the waiting senders are dropped: their requests get 503
        }
        bodies.clear();
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Writer `n`'s sink: a journal file of its own (`TARGET.n`), or a PostgreSQL session (the
/// first makes the table).
fn sink(target: &str, n: usize) -> Result<Box<dyn Sink + Send>, String> {
    if target.starts_with("postgres://") {
        let sink = PgSink::connect(target, n == 0).map_err(|e| e.to_string())?;
        Ok(Box::new(sink))
    } else {
        let sink = FileSink::open(&format!("{target}.{n}")).map_err(|e| e.to_string())?;
        Ok(Box::new(sink))
    }
}

/// Makes the sinks, one after the other, then starts a writer thread for each.
fn start_writers(target: &str, writers: usize, rx: mpsc::Receiver<Append>) -> Result<(), String> {
    let sinks = (0..writers)
        .map(|n| sink(target, n))
        .collect::<Result<Vec<_>, _>>()?;
    let rx = Arc::new(Mutex::new(rx));
    for (n, sink) in sinks.into_iter().enumerate() {
        let rx = rx.clone();
        std::thread::Builder::new()
            .name(format!("journal-{n}"))
            .spawn(move || group_commit(sink, &rx))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port = args.next().unwrap_or_else(|| "18083".into());
    let target = args
        .next()
        .unwrap_or_else(|| "durable-floor.journal".into());
    let writers: usize = args.next().map_or(Ok(2), |n| n.parse())?;
    let (tx, rx) = mpsc::channel();
    // The PostgreSQL client blocks: the sinks are made outside the runtime. The server
    // listens only once they are ready.
    std::thread::spawn(move || start_writers(&target, writers, rx))
        .join()
        .map_err(|_| "the writers' setup panicked")??;
    let app = Router::new()
        .route("/webhooks/twilio/{conn}", post(hook))
        .with_state(Journal(tx));
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://127.0.0.1:{port}");
    axum::serve(listener, app).await?;
    Ok(())
}
