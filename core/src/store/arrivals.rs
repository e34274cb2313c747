//! Visitors arriving on pages (every widget socket that opens), recorded in batches.
//!
//! Each arrival is a write: the visitor's row is made, or its last visit moved. One transaction
//! per arrival is one sync to disk per socket, which bounds how fast a server takes the sockets of
//! a reconnecting crowd (after a restart, every open page at once). So arrivals queue, and whoever
//! takes the write lock first writes every arrival queued by then in one transaction of a few
//! statements, and answers them all; the others find their answer waiting when the lock is theirs.
//! Nothing waits on purpose: a lone arrival is written at once, as before.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter,
    TransactionTrait,
};
use tokio::sync::oneshot::{self, error::TryRecvError};
use uuid::Uuid;

use crate::domain::ids::{SiteId, VisitorId};
use crate::domain::model::Visitor;
use crate::store::bulk::case_by_id;
use crate::store::entities::visitor;
use crate::store::{Store, StoreError, StoreResult, convert};

/// A page load after this much quiet starts a new visit (the usual analytics session length).
const VISIT_GAP: Duration = Duration::minutes(30);

/// The most arrivals one transaction takes: a crowd of thousands is written in several.
const MAX_ARRIVALS: usize = 512;

/// The most rows one statement takes, well within the databases' limits on bound values.
const MAX_ROWS: usize = 256;

/// Arrivals waiting for the write lock.
#[derive(Default)]
pub(crate) struct Arrivals {
    queued: Mutex<Vec<Arrival>>,
}

struct Arrival {
    site: SiteId,
    visitor: VisitorId,
    now: DateTime<Utc>,
    answer: oneshot::Sender<StoreResult<Visitor>>,
}

impl Arrivals {
    fn push(&self, arrival: Arrival) {
        self.queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(arrival);
    }

    fn take(&self) -> Vec<Arrival> {
        std::mem::take(&mut *self.queued.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Store {
    /// Records that a visitor is on a page now, counting a new visit after a long enough gap.
    /// Committed with the other arrivals queued at the same time.
    pub async fn touch_visitor(
        &self,
        site_id: SiteId,
        id: VisitorId,
        now: DateTime<Utc>,
    ) -> StoreResult<Visitor> {
        let not_recorded = || StoreError::Db(DbErr::Custom("the visit was not recorded".into()));
        let (answer, mut answered) = oneshot::channel();
        self.arrivals.push(Arrival {
            site: site_id,
            visitor: id,
            now,
            answer,
        });
        let guard = self.write_lock.clone().lock_owned().await;
        // Queued arrivals are taken, written and answered only under the lock, so an arrival
        // another holder took was answered before this caller got the lock.
        match answered.try_recv() {
            Ok(recorded) => return recorded,
            Err(TryRecvError::Closed) => return Err(not_recorded()),
            Err(TryRecvError::Empty) => {}
        }
        let arrivals = self.arrivals.take();
        let store = self.clone();
        // In a task of its own: a caller that goes away (its socket closed) must not cancel the
        // write the others are waiting for.
        tokio::spawn(async move {
            store.write_arrivals(arrivals).await;
            drop(guard);
        });
        answered.await.map_err(|_| not_recorded())?
    }

    /// Writes `arrivals` under the write lock, [`MAX_ARRIVALS`] to a transaction, and answers each
    /// once its transaction committed.
    async fn write_arrivals(&self, mut arrivals: Vec<Arrival>) {
        while !arrivals.is_empty() {
            let rest = arrivals.split_off(arrivals.len().min(MAX_ARRIVALS));
            self.write_some_arrivals(arrivals).await;
            arrivals = rest;
        }
    }

    /// Writes `arrivals` set-wise, or one at a time if that fails, and answers each.
    async fn write_some_arrivals(&self, arrivals: Vec<Arrival>) {
        let recorded = match self.record_set_wise(&arrivals).await {
            Ok(rows) => rows.into_iter().map(Ok).collect(),
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    arrivals = arrivals.len(),
                    "recording visitors at once failed; recording them one at a time"
                );
                let mut recorded = Vec::with_capacity(arrivals.len());
                // Each in a transaction of its own: one that fails (a row another node inserted
                // meanwhile, say) fails alone.
                for arrival in &arrivals {
                    let one = self.record_set_wise(std::slice::from_ref(arrival)).await;
                    recorded.push(one.and_then(|rows| {
                        rows.into_iter().next().ok_or_else(|| {
                            StoreError::Corrupt("an arrival was not recorded".into())
                        })
                    }));
                }
                recorded
            }
        };
        self.committed();
        for (arrival, row) in arrivals.into_iter().zip(recorded) {
            let _ = arrival.answer.send(row.map(convert::visitor));
        }
    }

    /// Every arrival in one transaction: reads of the visitors, inserts of the new ones, updates
    /// of the others, each over a [`sized`] slice. The rows as each arrival left them, in order.
    async fn record_set_wise(&self, arrivals: &[Arrival]) -> StoreResult<Vec<visitor::Model>> {
        let tx = self.db.begin().await?;
        let ids: Vec<Uuid> = arrivals
            .iter()
            .map(|a| a.visitor.0)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut rows: HashMap<Uuid, visitor::Model> = HashMap::with_capacity(ids.len());
        for ids in sized(&ids) {
            let found = visitor::Entity::find()
                .filter(visitor::Column::Id.is_in(ids.iter().copied()))
                .all(&tx)
                .await?;
            rows.extend(found.into_iter().map(|row| (row.id, row)));
        }
        let stored: HashSet<Uuid> = rows.keys().copied().collect();
        // In arrival order, so a visitor arriving twice at once counts as it would one by one.
        let mut recorded = Vec::with_capacity(arrivals.len());
        for arrival in arrivals {
            let row = rows
                .entry(arrival.visitor.0)
                .and_modify(|row| visited(row, arrival.now))
                .or_insert_with(|| first_visit(arrival));
            recorded.push(row.clone());
        }
        let (known, new): (Vec<visitor::Model>, Vec<visitor::Model>) =
            rows.into_values().partition(|row| stored.contains(&row.id));
        let mut new_rows = new.into_iter();
        for take in statement_sizes(new_rows.len()) {
            visitor::Entity::insert_many(
                new_rows
                    .by_ref()
                    .take(take)
                    .map(|row| row.into_active_model().reset_all()),
            )
            .exec_without_returning(&tx)
            .await?;
        }
        for known in sized(&known) {
            let by_id = |value: &dyn Fn(&visitor::Model) -> SimpleExpr| -> SimpleExpr {
                case_by_id(
                    visitor::Column::Id,
                    known.iter().map(|row| (row.id, value(row))),
                )
                .into()
            };
            visitor::Entity::update_many()
                .col_expr(
                    visitor::Column::VisitCount,
                    by_id(&|row| Expr::val(row.visit_count).into()),
                )
                .col_expr(
                    visitor::Column::LastSeen,
                    by_id(&|row| Expr::val(row.last_seen).into()),
                )
                .filter(visitor::Column::Id.is_in(known.iter().map(|row| row.id)))
                .exec(&tx)
                .await?;
        }
        tx.commit().await?;
        Ok(recorded)
    }
}

/// The visitor seen again at `now`: a new visit after a long enough gap.
fn visited(row: &mut visitor::Model, now: DateTime<Utc>) {
    if now - row.last_seen > VISIT_GAP {
        row.visit_count += 1;
    }
    row.last_seen = now;
}

/// `rows` in slices whose lengths are powers of two (at most [`MAX_ROWS`]), largest first. A
/// statement over many rows has a text per row count, and every connection keeps the statements
/// it prepared (on SQLite in this process, each the larger the more rows it takes): with any count
/// from 1 to 512 a crowd left hundreds of large statements behind, with powers of two at most 9
/// per statement.
fn sized<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    statement_sizes(rows.len()).map(move |take| {
        let (head, tail) = rest.split_at(take);
        rest = tail;
        head
    })
}

/// The row counts [`sized`] cuts `len` rows into.
fn statement_sizes(mut len: usize) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if len == 0 {
            return None;
        }
        let take = 1 << len.min(MAX_ROWS).ilog2();
        len -= take;
        Some(take)
    })
}

fn first_visit(arrival: &Arrival) -> visitor::Model {
    visitor::Model {
        id: arrival.visitor.0,
        site_id: arrival.site.0,
        customer_id: None,
        visit_count: 1,
        first_seen: arrival.now,
        last_seen: arrival.now,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use chrono::{Duration, SubsecRound, Utc};
    use tokio::sync::oneshot;

    use super::Arrival;
    use crate::domain::ids::VisitorId;
    use crate::store::test_stores::test_stores;

    /// One batch holding a new visitor twice (the second time after a long gap), a visitor last
    /// seen long ago and one seen a moment ago: each answer and row as one-by-one writes leave them.
    #[tokio::test]
    async fn arrivals_written_at_once_count_visits_as_one_at_a_time() {
        for on in test_stores().await {
            eprintln!("on {}", on.backend);
            let store = on.store.clone();
            let site = store.ensure_default_site().await.unwrap().id;
            let now = Utc::now().trunc_subsecs(0);
            let (new, away, back) = (VisitorId::new(), VisitorId::new(), VisitorId::new());
            let first = store
                .touch_visitor(site, away, now - Duration::hours(2))
                .await
                .unwrap();
            assert_eq!(first.visit_count, 1);
            store
                .touch_visitor(site, back, now - Duration::minutes(5))
                .await
                .unwrap();

            let arrival = |visitor, now| Arrival {
                site,
                visitor,
                now,
                answer: oneshot::channel().0,
            };
            let later = now + Duration::minutes(31);
            let arrivals = [
                arrival(new, now),
                arrival(away, now),
                arrival(new, later),
                arrival(back, now),
            ];
            let rows = store.record_set_wise(&arrivals).await.unwrap();
            let counts: Vec<(VisitorId, i32)> = rows
                .iter()
                .map(|row| (VisitorId(row.id), row.visit_count))
                .collect();
            assert_eq!(counts, [(new, 1), (away, 2), (new, 2), (back, 1)]);

            for (visitor, visits, first_seen, last_seen) in [
                (new, 2, now, later),
                (away, 2, now - Duration::hours(2), now),
                (back, 1, now - Duration::minutes(5), now),
            ] {
                let stored = store.visitor(visitor).await.unwrap().unwrap();
                assert_eq!(stored.visit_count, visits, "{visitor}");
                assert_eq!(stored.first_seen, first_seen, "{visitor}");
                assert_eq!(stored.last_seen, last_seen, "{visitor}");
                assert_eq!(stored.site_id, site);
                assert_eq!(stored.customer_id, None);
            }
        }
    }

    /// Many sockets opening at once: every caller is answered with its own visitor, each visitor
    /// is stored once, and one arriving twice counts one visit.
    #[tokio::test]
    async fn visitors_arriving_together_are_each_answered_and_stored_once() {
        for on in test_stores().await {
            eprintln!("on {}", on.backend);
            let store = on.store.clone();
            let site = store.ensure_default_site().await.unwrap().id;
            let now = Utc::now().trunc_subsecs(0);
            let visitors: Vec<VisitorId> = (0..40).map(|_| VisitorId::new()).collect();
            let mut tasks = Vec::new();
            for visitor in visitors.iter().chain(&visitors[..10]) {
                let (store, visitor) = (store.clone(), *visitor);
                tasks.push(tokio::spawn(async move {
                    (visitor, store.touch_visitor(site, visitor, now).await)
                }));
            }
            for task in tasks {
                let (visitor, answered) = task.await.unwrap();
                let answered = answered.unwrap();
                assert_eq!((answered.id, answered.visit_count), (visitor, 1));
            }
            for visitor in &visitors {
                let stored = store.visitor(*visitor).await.unwrap().unwrap();
                assert_eq!((stored.visit_count, stored.last_seen), (1, now));
            }
        }
    }

    /// A crowd larger than one transaction takes: written in several, every arrival answered.
    #[tokio::test]
    async fn a_crowd_is_written_in_several_transactions_and_each_answered() {
        for on in test_stores().await {
            eprintln!("on {}", on.backend);
            let store = on.store.clone();
            let site = store.ensure_default_site().await.unwrap().id;
            let now = Utc::now().trunc_subsecs(0);
            let count = 2 * super::MAX_ARRIVALS + 7;
            let (arrivals, answered): (Vec<Arrival>, Vec<_>) = (0..count)
                .map(|_| {
                    let (answer, answered) = oneshot::channel();
                    let visitor = VisitorId::new();
                    let arrival = Arrival {
                        site,
                        visitor,
                        now,
                        answer,
                    };
                    (arrival, (visitor, answered))
                })
                .unzip();
            {
                let _lock = store.write_lock.lock().await;
                store.write_arrivals(arrivals).await;
            }
            for (visitor, answered) in answered {
                let answered = answered.await.unwrap().unwrap();
                assert_eq!((answered.id, answered.visit_count), (visitor, 1));
                assert!(store.visitor(visitor).await.unwrap().is_some());
            }
        }
    }

    #[test]
    fn rows_are_sliced_in_powers_of_two_largest_first() {
        let lengths = |n: usize| -> Vec<usize> {
            let rows: Vec<usize> = (0..n).collect();
            let slices: Vec<&[usize]> = super::sized(&rows).collect();
            assert_eq!(slices.concat(), rows, "every row once, in order");
            slices.iter().map(|s| s.len()).collect()
        };
        assert_eq!(lengths(0), Vec::<usize>::new());
        assert_eq!(lengths(1), [1]);
        assert_eq!(lengths(37), [32, 4, 1]);
        assert_eq!(lengths(512), [256, 256]);
        assert_eq!(lengths(300), [256, 32, 8, 4]);
    }
}
