//! Group commit: writes queued by many sockets at once run in one transaction, each in a
//! savepoint of its own, and are committed together (one sync to disk for the lot). Every caller
//! gets its answer only after that commit, so "stored before acknowledged" holds for each.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::store::{Store, StoreError, StoreResult};

/// The most writes one transaction takes: enough to share one sync among many sockets, few enough
/// that the first of them does not wait long for the last.
const MAX_BATCH: usize = 256;

/// Hands a caller its answer once the batch it was in committed.
type Answer = Box<dyn FnOnce() + Send>;

/// One queued write: runs on the batch's transaction and returns how to answer its caller.
type Job = Box<dyn for<'a> FnOnce(&'a DatabaseTransaction) -> BoxFuture<'a, Answer> + Send>;

/// The queue into the writer task. The task starts with the first write and ends when every
/// `Store` handle is gone.
#[derive(Default)]
pub(crate) struct GroupCommit {
    queue: std::sync::OnceLock<mpsc::UnboundedSender<Job>>,
}

impl GroupCommit {
    fn sender(
        &self,
        db: &DatabaseConnection,
        lock: &Arc<Mutex<()>>,
    ) -> &mpsc::UnboundedSender<Job> {
        self.queue.get_or_init(|| {
            let (sender, jobs) = mpsc::unbounded_channel();
            tokio::spawn(writer(db.clone(), lock.clone(), jobs));
            sender
        })
    }
}

impl Store {
    /// Runs `work` in the next batch's transaction (in a savepoint: a failing write leaves the
    /// others of its batch untouched) and answers once the batch committed.
    pub(crate) async fn batched<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a DatabaseTransaction) -> BoxFuture<'a, StoreResult<T>>
            + Send
            + 'static,
    {
        let (answer, answered) = oneshot::channel::<StoreResult<T>>();
        let job = job(move |tx| {
            Box::pin(async move {
                let result = in_savepoint(tx, work).await;
                Box::new(move || {
                    let _ = answer.send(result);
                }) as Answer
            })
        });
        let not_committed = || StoreError::Db(DbErr::Custom("the write was not committed".into()));
        self.group
            .sender(&self.db, &self.write_lock)
            .send(job)
            .map_err(|_| not_committed())?;
        answered.await.map_err(|_| not_committed())?
    }
}

/// Names the closure's type so that it takes a transaction of any lifetime.
fn job<F>(f: F) -> Job
where
    F: for<'a> FnOnce(&'a DatabaseTransaction) -> BoxFuture<'a, Answer> + Send + 'static,
{
    Box::new(f)
}

async fn in_savepoint<T, F>(tx: &DatabaseTransaction, work: F) -> StoreResult<T>
where
    F: for<'a> FnOnce(&'a DatabaseTransaction) -> BoxFuture<'a, StoreResult<T>>,
{
    let savepoint = tx.begin().await?;
    match work(&savepoint).await {
        Ok(value) => {
            savepoint.commit().await?;
            Ok(value)
        }
        Err(e) => {
            // Rolling back to the savepoint undoes this write only; the batch goes on.
            if let Err(rollback) = savepoint.rollback().await {
                tracing::warn!(error = %rollback, "rolling back a failed write's savepoint failed");
            }
            Err(e)
        }
    }
}

/// Takes what is queued (up to [`MAX_BATCH`]), runs it in one transaction under the write lock,
/// commits, then answers every caller. A batch that fails to commit answers each with an error
/// (their senders are dropped), and nothing of it is stored.
async fn writer(
    db: DatabaseConnection,
    lock: Arc<Mutex<()>>,
    mut jobs: mpsc::UnboundedReceiver<Job>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let _guard = lock.lock().await;
        match run(&db, batch.drain(..)).await {
            Ok(answers) => answers.into_iter().for_each(|answer| answer()),
            Err(e) => tracing::error!(error = %e, "a batch of writes did not commit"),
        }
    }
}

async fn run(
    db: &DatabaseConnection,
    batch: impl Iterator<Item = Job>,
) -> Result<Vec<Answer>, DbErr> {
    let tx = db.begin().await?;
    let mut answers = Vec::new();
    for job in batch {
        answers.push(job(&tx).await);
    }
    tx.commit().await?;
    Ok(answers)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use chrono::Utc;

    use crate::domain::ids::VisitorId;
    use crate::domain::model::AuthorKind;
    use crate::store::{NewMessage, Store, StoreError};

    async fn sqlite_store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("natter.db").display()
        );
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        (store, dir)
    }

    fn visitor_message(visitor: VisitorId, client_id: &str) -> NewMessage {
        NewMessage {
            author_kind: AuthorKind::Visitor,
            author_id: Some(visitor.0),
            author_name: None,
            body: format!("body of {client_id}"),
            client_id: Some(client_id.to_string()),
        }
    }

    #[tokio::test]
    async fn concurrent_appends_are_each_stored_once_in_seq_order_and_a_failing_one_spoils_nothing()
    {
        let (store, _dir) = sqlite_store().await;
        let site = store.ensure_default_site().await.unwrap();
        let now = Utc::now();
        let visitors: Vec<VisitorId> = (0..8).map(|_| VisitorId::new()).collect();
        for visitor in &visitors {
            store.touch_visitor(site.id, *visitor, now).await.unwrap();
        }
        // A conversation that is closed: appending to it fails inside whatever batch it lands in.
        let first = store
            .append_visitor_message(site.id, visitors[0], visitor_message(visitors[0], "x"), now)
            .await
            .unwrap();
        store
            .close_conversation(first.conversation.id, now)
            .await
            .unwrap();

        let mut tasks = Vec::new();
        for (v, visitor) in visitors.iter().enumerate().skip(1) {
            for n in 0..25 {
                let store = store.clone();
                let visitor = *visitor;
                // Every message twice: the resend must be answered with the first one.
                for _ in 0..2 {
                    let store = store.clone();
                    let message = visitor_message(visitor, &format!("{v}-{n}"));
                    tasks.push(tokio::spawn(async move {
                        store
                            .append_visitor_message(site.id, visitor, message, now)
                            .await
                    }));
                }
            }
            let store = store.clone();
            let closed = first.conversation.id;
            let message = visitor_message(visitors[0], &format!("late-{v}"));
            tasks.push(tokio::spawn(async move {
                store
                    .append_message(closed, message, None, now)
                    .await
                    .map(|o| o.expect("the conversation exists"))
            }));
        }
        let mut stored = 0;
        let mut refused = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(outcome) if !outcome.duplicate => stored += 1,
                Ok(_) => {}
                Err(StoreError::Closed) => refused += 1,
                Err(e) => panic!("unexpected failure: {e}"),
            }
        }
        assert_eq!(stored, 7 * 25, "each message stored once");
        assert_eq!(
            refused, 7,
            "the appends to the closed conversation failed alone"
        );
        for visitor in &visitors[1..] {
            let open = store
                .open_conversation_of_visitor(*visitor)
                .await
                .unwrap()
                .expect("an open conversation");
            let messages = store.messages_after(open.id, 0, 100).await.unwrap();
            let seqs: Vec<i64> = messages.iter().map(|m| m.seq).collect();
            assert_eq!(seqs, (1..=25).collect::<Vec<_>>(), "no gaps, no repeats");
            assert_eq!(open.last_seq, 25);
        }
        let closed = store.messages_after(first.conversation.id, 0, 100).await;
        assert_eq!(
            closed.unwrap().len(),
            1,
            "nothing was added to the closed one"
        );
    }
}
